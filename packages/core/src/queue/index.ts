import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, type RedisKeys } from '../keys/index.js';

/** What a completion job carries: ids only. The prompt stays in the request record, stored once. */
export interface CompletionJobData {
  requestId: string;
  tenantId: string;
}

/** Retry policy shared by the producer (API) and the reconciler (worker). */
export interface CompletionJobPolicy {
  /** Attempts per request, first call included. Default 5. */
  maxAttempts: number;
}

/** The completions queue. Pass a connection made with `createRedis(url, 'api' | 'worker')`. */
export function createCompletionsQueue(connection: Redis, keys: RedisKeys): Queue<CompletionJobData> {
  return new Queue<CompletionJobData>(QUEUES.completions, { connection, prefix: keys.bullPrefix });
}

/**
 * Job options: the job id is the request id (so re-adding is a no-op and cancel can find it),
 * retries use the worker's `sluice` backoff (full jitter, honours retry-after), and finished jobs
 * are removed at once because the request record, not BullMQ, holds the result.
 */
export function completionJobOptions(
  requestId: string,
  priority: number,
  policy: CompletionJobPolicy,
): JobsOptions {
  return {
    jobId: requestId,
    priority,
    attempts: policy.maxAttempts,
    backoff: { type: 'sluice' },
    removeOnComplete: true,
    removeOnFail: { age: 24 * 3600, count: 1000 },
  };
}

/** Jobs of the webhooks queue: fan a finished request out to endpoints, or deliver one message. */
export type WebhookJobData =
  | { kind: 'dispatch'; requestId: string }
  | { kind: 'dispatch-batch'; batchId: string }
  | { kind: 'deliver'; deliveryId: string };

/** The webhooks queue, separate from completions so slow receivers never hold up completions. */
export function createWebhooksQueue(connection: Redis, keys: RedisKeys): Queue<WebhookJobData> {
  return new Queue<WebhookJobData>(QUEUES.webhooks, { connection, prefix: keys.bullPrefix });
}

/**
 * Queues the webhook events of a request that just reached a terminal state. The job id makes it
 * idempotent while the job exists; the outbox sweeper re-queues it if this call never happened.
 */
export async function queueWebhookDispatch(queue: Queue<WebhookJobData>, requestId: string): Promise<void> {
  await queue.add(
    'dispatch',
    { kind: 'dispatch', requestId },
    {
      jobId: `dispatch_${requestId}`,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86_400 },
    },
  );
}

/**
 * Queues the webhook event of a batch that just ended (batch.completed, …). Like a request's, the
 * batch is in the webhook outbox from its terminal transition on; this is the fast path.
 */
export async function queueBatchDispatch(queue: Queue<WebhookJobData>, batchId: string): Promise<void> {
  await queue.add(
    'dispatch-batch',
    { kind: 'dispatch-batch', batchId },
    {
      jobId: `dispatch-batch_${batchId}`,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86_400 },
    },
  );
}

/** Jobs of the batches queue: validate and enqueue, cancel, expire, promote, write results. */
export type BatchJobData =
  | { kind: 'start'; batchId: string }
  | { kind: 'cancel'; batchId: string }
  | { kind: 'expire'; batchId: string }
  | { kind: 'promote'; batchId: string; priority: number }
  | { kind: 'finalize'; batchId: string; final: 'completed' | 'cancelled' | 'expired' };

export function createBatchesQueue(connection: Redis, keys: RedisKeys): Queue<BatchJobData> {
  return new Queue<BatchJobData>(QUEUES.batches, { connection, prefix: keys.bullPrefix });
}

/** Queues a batch step; the job id makes a repeated request for the same step a no-op while it is pending. */
export async function queueBatchStep(queue: Queue<BatchJobData>, data: BatchJobData): Promise<void> {
  const suffix = data.kind === 'promote' ? `-${data.priority}` : '';
  await queue.add(data.kind, data, {
    jobId: `${data.kind}-${data.batchId}${suffix}`,
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 86_400 },
  });
}
