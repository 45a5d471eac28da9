import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CompletionJobData,
  countEmbeddingTokens,
  estimateChargedTokens,
  jobPriority,
  type Logger,
  type RequestError,
  type RequestRecord,
  type RequestStore,
  requestedMaxOutput,
  retryPriority,
  type Usage,
} from '@sluice/core';
import {
  classifyUpstreamError,
  type Lease,
  parseRateLimitHeaders,
  type RateLimitController,
  type Scope,
} from '@sluice/upstream';
import { DelayedError, Job, type Processor, UnrecoverableError } from 'bullmq';
import { APIError } from 'openai';
import { RetryableError } from './backoff.js';
import type { ResponseCache } from './cache.js';
import type { WorkerMetrics } from './metrics.js';
import type { Route, Router } from './routing.js';

export interface ProcessorOptions {
  maxAttempts: number;
  /** Output tokens reserved when a request sets no max_tokens. */
  defaultMaxOutputTokens: number;
  /** Longest wait for budget inside the processor before the job goes back to the queue, ms. */
  inlineWaitMaxMs: number;
  /** 429s a request may meet before it fails. */
  maxRateLimitRetries: number;
  /** How long a request may wait on unavailable upstreams before it fails, ms. */
  upstreamMaxWaitMs: number;
  /** How long a job waits for its request record to appear before it is dropped, ms. */
  recordGraceMs: number;
}

export interface ProcessorDeps {
  requests: RequestStore;
  router: Router;
  controller: RateLimitController;
  cache: ResponseCache;
  metrics: WorkerMetrics;
  log: Logger;
  options: ProcessorOptions;
  /** Told the controller's new concurrency target for a scope after every call. */
  onTarget: (scope: Scope, target: number) => void;
  /** Told when this processor moved a request to a terminal state (queues its webhook events). */
  onFinished: (requestId: string) => void;
}

/** Thrown to hand a job back to the queue without spending an attempt (pacing, 429s, open breakers). */
async function handBack(job: Job, token: string | undefined, delayMs: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(0, Math.ceil(delayMs)), token);
  throw new DelayedError();
}

/**
 * The job's priority as stored now. The copy this run was given is from when it became active; the
 * aging sweep may have raised the job since (it changes the stored priority of an active job).
 */
async function storedPriority(job: Job): Promise<number> {
  // `queue` is protected in BullMQ's types, but is exactly what Job.fromId takes.
  const { queue } = job as unknown as { queue: Parameters<typeof Job.fromId>[0] };
  const fresh = job.id ? await Job.fromId(queue, job.id).catch(() => undefined) : undefined;
  return fresh?.priority || job.priority;
}

/**
 * One attempt at one request. The request record is the source of truth: every outcome is written
 * there (atomically, once) before the job itself finishes, so a crash between the two is repaired by
 * re-running the job, which then finds the record terminal and does nothing.
 *
 * Before calling, the attempt asks the shared rate-limit controller for budget on the first route
 * (the request's model on the primary upstream) whose breaker is not open, falling back along the
 * configured chain. Waiting for budget, 429s and open breakers never spend an attempt.
 */
export function createCompletionProcessor(deps: ProcessorDeps): Processor<CompletionJobData, string> {
  const { requests, router, controller, metrics, log, options } = deps;

  return async (job: Job<CompletionJobData, string>, token?: string, signal?: AbortSignal) => {
    const { requestId } = job.data;
    const attempt = job.attemptsMade + 1;
    let started = await requests.startAttempt(requestId, attempt);
    // The API stores the record a moment after adding the job: a fresh job waits briefly for it here
    // rather than going back to the queue (which would cost its request a second).
    for (let i = 0; started === 'missing' && i < 25 && Date.now() - job.timestamp < 2_000; i++) {
      await sleep(10);
      started = await requests.startAttempt(requestId, attempt);
    }
    if (started === 'missing') {
      // The API adds the job before the record: give a fresh job a moment for its record to appear.
      // A job whose record never came was refused (503) or its record expired: it never runs.
      if (Date.now() - job.timestamp < options.recordGraceMs) return handBack(job, token, 1_000);
      await requests.forgetOpen(requestId);
      log.warn({ requestId }, 'request record missing; job dropped');
      return 'missing';
    }
    if (started !== 'ok') return started; // cancelled, or finished by an earlier run of this job

    const record = await requests.get(requestId);
    if (!record?.body) {
      await finishFailed(requestId, {
        code: 'request_expired',
        message: 'The request body expired before processing.',
      });
      return 'failed';
    }

    const estimate =
      record.endpoint === '/v1/embeddings'
        ? countEmbeddingTokens(record.body)
        : estimateChargedTokens(record.body, options.defaultMaxOutputTokens);
    const admitted = await admit(job, token, record, estimate);
    if (!admitted) return 'completed'; // served from the response cache
    const { route, lease } = admitted;
    const body = { ...record.body, model: route.model };
    const model = route.model;
    const callStarted = performance.now();
    metrics.inFlight.inc();
    try {
      const result = await route.upstream.client.call(record.endpoint, body, signal);
      metrics.upstreamLatency.observe({ model }, (performance.now() - callStarted) / 1000);
      metrics.upstreamCalls.inc({ model, outcome: 'ok' });
      const usage = (result.completion.usage as Usage | undefined) ?? null;
      await report(lease, {
        kind: 'ok',
        chargedTokens:
          record.endpoint === '/v1/embeddings'
            ? (usage?.prompt_tokens ?? estimate)
            : chargedTokens(record.body, usage, estimate),
        headers: parseRateLimitHeaders(result.headers),
      });
      const done = await requests.complete(requestId, result.completion, usage, {
        upstream: route.upstream.name,
        model: route.model,
      });
      if (done === 'ok') {
        metrics.requestsFinished.inc({ status: 'completed', code: '' });
        deps.onFinished(requestId);
      }
      return 'completed';
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
      const headers = parseRateLimitHeaders(err instanceof APIError ? err.headers : undefined);
      const outcome = classifyUpstreamError(err);
      if (outcome.kind === 'aborted') {
        // Our own shutdown: hand the job back at once without spending an attempt.
        metrics.upstreamCalls.inc({ model, outcome: 'aborted' });
        await report(lease, { kind: 'neutral', headers });
        await requests.requeue(requestId, {
          code: 'worker_shutdown',
          message: 'The worker shut down mid-call.',
        });
        return handBack(job, token, 0);
      }
      metrics.upstreamLatency.observe({ model }, (performance.now() - callStarted) / 1000);
      if (outcome.kind === 'fail') {
        metrics.upstreamCalls.inc({ model, outcome: 'rejected' });
        await report(lease, { kind: 'neutral', headers });
        await finishFailed(requestId, outcome.error);
        throw new UnrecoverableError(outcome.error.code);
      }
      metrics.upstreamCalls.inc({ model, outcome: outcome.reason });
      if (outcome.reason === 'rate_limited') {
        // The whole fleet pauses; this request waits its turn again without spending an attempt.
        await report(lease, { kind: 'rate_limited', pauseMs: outcome.retryAfterMs, headers });
        const seen = await requests.countRateLimited(requestId);
        if (seen > options.maxRateLimitRetries) {
          await finishFailed(requestId, {
            ...outcome.error,
            code: 'upstream_rate_limited',
            message: `The upstream answered 429 ${seen} times; giving up (MAX_RATE_LIMIT_RETRIES).`,
          });
          throw new UnrecoverableError('upstream_rate_limited');
        }
        await requests.requeue(requestId, outcome.error);
        return handBack(job, token, outcome.retryAfterMs ?? controller.options.defaultPauseMs);
      }
      await report(lease, { kind: 'failure', headers });
      if (attempt >= options.maxAttempts) {
        await finishFailed(requestId, {
          ...outcome.error,
          code: 'upstream_retries_exhausted',
          message: `The upstream kept failing after ${attempt} attempts; last error: ${outcome.error.message}`,
          upstream_code: outcome.error.upstream_code ?? outcome.error.code,
        });
        throw new UnrecoverableError('upstream_retries_exhausted');
      }
      await requests.requeue(requestId, outcome.error);
      // Retried jobs drop a few places inside their band (applied when the retry is queued), but one
      // that was aged or promoted while it waited keeps that place.
      await job.changePriority({ priority: retryPriority(record, attempt, await storedPriority(job)) });
      log.info(
        { requestId, attempt, reason: outcome.reason, retryAfterMs: outcome.retryAfterMs },
        'attempt failed, will retry',
      );
      throw new RetryableError(outcome.error.code, outcome.retryAfterMs);
    } finally {
      metrics.inFlight.dec();
    }
  };

  /**
   * Waits for budget on the first usable route. Short waits happen here; a longer one (a fleet pause,
   * an open breaker) hands the job back to the queue so it holds no worker slot while it waits.
   */
  async function admit(
    job: Job<CompletionJobData, string>,
    token: string | undefined,
    record: RequestRecord,
    estimate: number,
  ): Promise<{ route: Route; lease: Lease } | null> {
    const routes = router.routes(record.model);
    const holder = job.id ?? record.id;
    const deadline = Date.now() + options.inlineWaitMaxMs;
    for (;;) {
      let waitMs = Number.POSITIVE_INFINITY;
      let everyRouteUnavailable = true;
      let everyRouteTooLarge = true;
      for (const route of routes) {
        const admission = await controller.acquire(route.scope, estimate, {
          holder,
          priority: job.priority || jobPriority(record.tier, record.priority),
          pollWithinMs: options.inlineWaitMaxMs,
        });
        if (admission.kind === 'granted') return { route, lease: admission.lease };
        if (admission.kind === 'too_large') continue;
        everyRouteTooLarge = false;
        waitMs = Math.min(waitMs, admission.waitMs);
        if (admission.reason === 'breaker_open' || admission.reason === 'breaker_half_open') continue;
        // Pacing: this route is healthy, only busy. Wait for it rather than spill onto a fallback.
        everyRouteUnavailable = false;
        break;
      }
      if (everyRouteTooLarge) {
        await finishFailed(record.id, {
          code: 'request_too_large',
          message: `The request needs about ${estimate} tokens (prompt + max output), more than the upstream's token limit allows at once. Reduce the prompt or max_tokens.`,
        });
        throw new UnrecoverableError('request_too_large');
      }
      if (everyRouteUnavailable) {
        const cached = await deps.cache.lookup(record.body ?? {});
        if (cached) {
          const done = await requests.complete(
            record.id,
            cached,
            (cached.usage as Usage | undefined) ?? null,
            {
              upstream: 'cache',
              model: String(cached.model ?? record.model),
            },
          );
          if (done === 'ok') deps.onFinished(record.id);
          return null;
        }
        const since = await requests.markUnavailable(record.id);
        // Come back no later than the moment the request's wait runs out.
        waitMs = Math.min(waitMs, Math.max(1, since + options.upstreamMaxWaitMs - Date.now()));
        if (Date.now() - since >= options.upstreamMaxWaitMs) {
          await finishFailed(record.id, {
            code: 'upstream_unavailable',
            message: `Every upstream for ${record.model} has been unavailable (circuit open) for ${Math.round((Date.now() - since) / 1000)} s.`,
          });
          throw new UnrecoverableError('upstream_unavailable');
        }
      }
      if (Date.now() + waitMs > deadline) {
        await requests.requeue(record.id, {
          code: everyRouteUnavailable ? 'upstream_unavailable' : 'waiting_for_rate_limit',
          message: everyRouteUnavailable
            ? 'Waiting for the upstream to recover.'
            : 'Waiting for rate-limit budget.',
        });
        // Out of the admission line: jobs that keep asking must not queue behind one that left.
        await Promise.all(routes.map((r) => controller.forget(r.scope, holder)));
        return handBack(job, token, waitMs);
      }
      await sleep(waitMs);
    }
  }

  async function report(lease: Lease, outcome: Parameters<RateLimitController['settle']>[1]) {
    try {
      const { target } = await controller.settle(lease, outcome);
      deps.onTarget(lease.scope, target);
    } catch (err) {
      // The lease expires on its own; a lost settlement must not fail the request.
      log.warn({ err: String(err) }, 'rate-limit settle failed');
    }
  }

  async function finishFailed(requestId: string, error: RequestError) {
    const done = await requests.fail(requestId, error);
    if (done === 'ok') {
      metrics.requestsFinished.inc({ status: 'failed', code: error.code });
      deps.onFinished(requestId);
    }
  }
}

/** What the call counted against the TPM budget: real prompt tokens plus the requested output cap. */
function chargedTokens(body: Record<string, unknown>, usage: Usage | null, estimate: number): number {
  if (!usage) return estimate;
  const n = typeof body.n === 'number' ? body.n : 1;
  const max = requestedMaxOutput(body);
  return usage.prompt_tokens + (max !== null ? max * n : usage.completion_tokens);
}
