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
