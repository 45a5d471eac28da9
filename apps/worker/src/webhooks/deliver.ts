import { createHash } from 'node:crypto';
import {
  type Delivery,
  type Logger,
  signWebhook,
  type WebhookEndpoint,
  type WebhookJobData,
  WebhookStore,
} from '@sluice/core';
import { type Job, type JobsOptions, UnrecoverableError } from 'bullmq';
import { postWebhook } from './http.js';

export interface DeliverOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** ms after the message of each attempt; `schedule.length` attempts in all. */
  schedule: readonly number[];
  /** Disable an endpoint failing every attempt for this long, ms. */
  disableAfterMs: number;
}

/** A failed attempt that should be retried, after at least `retryAfterMs` when the receiver asked. */
export class DeliveryFailedError extends Error {
  override name = 'DeliveryFailedError';
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/** Job options of one delivery: the attempts and backoff come from the retry schedule. */
export function deliveryJobOptions(jobId: string, schedule: readonly number[]): JobsOptions {
  return {
    jobId,
    attempts: Math.max(1, schedule.length),
    backoff: { type: 'webhook' },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 86_400 },
  };
}

/**
 * The wait before attempt `attemptsMade + 1`: the schedule's gap ±10%, or longer if the receiver asked
 * (Retry-After, at most MAX_RETRY_AFTER_MS).
 */
export function webhookBackoffMs(
  attemptsMade: number,
  schedule: readonly number[],
  err: Error | undefined,
  random: () => number = Math.random,
): number {
  const at = schedule[attemptsMade] ?? schedule.at(-1) ?? 0;
  const previous = schedule[attemptsMade - 1] ?? 0;
  const gap = Math.max(0, at - previous);
  const jittered = Math.round(gap * (0.9 + random() * 0.2));
  const asked = err instanceof DeliveryFailedError ? (err.retryAfterMs ?? 0) : 0;
  // A receiver may slow us down, but not park a message beyond a day (a bogus or hostile header).
  return Math.max(jittered, Math.min(asked, MAX_RETRY_AFTER_MS));
}

/** The longest Retry-After a receiver can impose on one retry. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * The jitter of one retry, fixed by the delivery job and attempt: BullMQ's backoff and the
 * `next_retry_at` shown in the deliveries log compute the same value, so the log is exact.
 */
export function retryJitter(jobId: string | undefined, attemptsMade: number): () => number {
  const digest = createHash('sha256')
    .update(`${jobId ?? ''}:${attemptsMade}`)
    .digest();
  return () => digest.readUInt32BE(0) / 0x1_0000_0000;
}

/** Retry-After as seconds or an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfterMs(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/**
 * One delivery attempt. Only a 2xx counts; redirects are not followed; 410 disables the endpoint;
 * Retry-After is honoured on 429 and 503; an endpoint that has failed every attempt for
 * `disableAfterMs` is disabled. Each attempt is signed afresh (new timestamp) with the same webhook-id.
 */
export function createDeliveryProcessor(deps: {
  webhooks: WebhookStore;
  log: Logger;
  options: DeliverOptions;
}) {
  const { webhooks, log, options } = deps;
  return async (job: Job<WebhookJobData>): Promise<string> => {
    if (job.data.kind !== 'deliver') throw new UnrecoverableError('not a delivery job');
    const delivery = await webhooks.getDelivery(job.data.deliveryId);
    if (!delivery || delivery.status === 'succeeded') return 'gone';
    const endpoint = await webhooks.get(delivery.endpointId);
    if (!endpoint?.enabled) {
      await record(
        delivery,
        { at: Date.now(), status_code: null, latency_ms: 0, error: 'endpoint disabled or deleted' },
        'failed',
        null,
      );
      return 'endpoint_unavailable';
    }
    const now = new Date();
    const secrets = WebhookStore.activeSecrets(endpoint, now.getTime());
    const headers = signWebhook(delivery.messageId, now, delivery.payload, secrets);
    const result = await postWebhook(endpoint.url, delivery.payload, headers, options);
    const attempt = {
      at: now.getTime(),
      status_code: result.statusCode,
      latency_ms: result.latencyMs,
      error: result.error,
    };
    const code = result.statusCode;
    if (code !== null && code >= 200 && code < 300) {
      await record(delivery, attempt, 'succeeded', null);
      if (endpoint.failingSince !== null) await webhooks.markHealthy(endpoint.id);
      return 'delivered';
    }
    if (code === 410) {
      await webhooks.disable(endpoint.id, 'gone');
      await record(
        delivery,
        { ...attempt, error: 'receiver answered 410 Gone: endpoint disabled' },
        'failed',
        null,
      );
      log.warn({ endpointId: endpoint.id }, 'webhook endpoint answered 410; disabled');
      throw new UnrecoverableError('endpoint gone');
    }
    const error = result.error ?? `receiver answered ${code}`;
    const since = await webhooks.markFailing(endpoint.id, now.getTime());
    if (now.getTime() - since >= options.disableAfterMs) {
      await webhooks.disable(endpoint.id, 'failing');
      await record(
        delivery,
        { ...attempt, error: `${error}; endpoint failing since ${new Date(since).toISOString()}: disabled` },
        'failed',
        null,
      );
      log.warn({ endpointId: endpoint.id }, 'webhook endpoint failing for too long; disabled');
      throw new UnrecoverableError('endpoint disabled');
    }
    // The worker's schedule decides how many attempts a message gets, whoever queued the job (the
    // API's test and manual deliveries do not know the worker's schedule).
    const last =
      job.attemptsMade + 1 >= Math.min(job.opts.attempts ?? 1, Math.max(1, options.schedule.length));
    const asked = code === 429 || code === 503 ? parseRetryAfterMs(result.headers['retry-after']) : null;
    const nextDelay = last
      ? null
      : webhookBackoffMs(
          job.attemptsMade + 1,
          options.schedule,
          new DeliveryFailedError(error, asked),
          retryJitter(job.id, job.attemptsMade + 1),
        );
    await record(
      delivery,
      { ...attempt, error },
      last ? 'failed' : 'pending',
      nextDelay === null ? null : Date.now() + nextDelay,
    );
    if (last) throw new UnrecoverableError(error);
    throw new DeliveryFailedError(error, asked);
  };

  async function record(
    delivery: Delivery,
    attempt: { at: number; status_code: number | null; latency_ms: number; error: string | null },
    status: Delivery['status'],
    nextRetryAt: number | null,
  ) {
    await webhooks.recordAttempt(delivery.id, attempt, { status, nextRetryAt });
  }
}

export type { WebhookEndpoint };
