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
 * Estimates when a non-terminal request will finish: a queued one from its position in the priority
 * queue and the fleet's completions per second over the last minute; a running one from when it
 * started and how long recent requests took from start to completion.
 */
export async function estimateCompletion(
  redis: Redis,
  keys: RedisKeys,
  requests: RequestStore,
  record: RequestRecord,
  now = Date.now(),
): Promise<Estimate> {
  const { throughput, meanDurationMs } = await requests.recentStats(now);
  if (record.status === 'in_progress') {
    // Started requests take about as long as the ones that completed recently (first start to
    // completion); one that has run longer than that is expected within the second.
    if (meanDurationMs === null) return { retryAfterSeconds: 1, estimatedCompletionAt: null };
    const eta = Math.max(now + 1_000, (record.startedAt ?? now) + meanDurationMs);
    const left = (eta - now) / 1000;
    return {
      retryAfterSeconds: Math.min(30, Math.max(1, Math.ceil(left / 2))),
      estimatedCompletionAt: Math.ceil(eta / 1000),
    };
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
