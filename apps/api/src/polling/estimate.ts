import {
  bullPrioritizedKey,
  QUEUES,
  type RedisKeys,
  type RequestRecord,
  type RequestStore,
} from '@sluice/core';
import type { Redis } from 'ioredis';

export interface Estimate {
  /** Seconds a client should wait before polling again. */
  retryAfterSeconds: number;
  /** Estimated completion time, unix seconds; null when nothing has completed recently. */
  estimatedCompletionAt: number | null;
}

/**
 * Estimates when a non-terminal request will finish from its position in the priority queue and
 * the fleet's completions per second over the last minute.
 */
export async function estimateCompletion(
  redis: Redis,
  keys: RedisKeys,
  requests: RequestStore,
  record: RequestRecord,
  now = Date.now(),
): Promise<Estimate> {
  const throughput = await requests.recentThroughput(now);
  if (record.status === 'in_progress') {
    return { retryAfterSeconds: 1, estimatedCompletionAt: throughput > 0 ? Math.ceil(now / 1000 + 1) : null };
  }
  const rank = await redis.zrank(bullPrioritizedKey(keys, QUEUES.completions), record.id);
  const ahead = rank ?? 0;
  if (throughput <= 0) return { retryAfterSeconds: 2, estimatedCompletionAt: null };
  const seconds = (ahead + 1) / throughput;
  return {
    retryAfterSeconds: Math.min(30, Math.max(1, Math.ceil(seconds / 2))),
    estimatedCompletionAt: Math.ceil(now / 1000 + seconds),
  };
}
