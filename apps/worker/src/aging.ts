import {
  AGED_PRIORITY,
  type CompletionJobData,
  type Logger,
  type RedisKeys,
  type RequestStore,
  TERMINAL_STATUSES,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PeriodicSweep, takeLease } from './periodic.js';

export { AGED_PRIORITY };

const PAGE = 500;

/**
 * Aging against starvation. Strict priority lets a steady stream of high-tier work starve the free
 * tier; this sweep moves every request that has waited longer than `maxWaitMs` ahead of all tiers, so
 * each queued request is served within about `maxWaitMs` plus the time to serve the aged ones before
 * it. One replica sweeps at a time (a lease); a watermark remembers how far creation times were aged.
 * A sweep never looks behind its watermark again, so the place an aged job earned must survive its
 * retries (see retryPriority) and a re-enqueue by the reconciler (which ages by the watermark too).
 */
export class AgingSweeper extends PeriodicSweep {
  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      queue: Queue<CompletionJobData>;
      requests: RequestStore;
      log: Logger;
      maxWaitMs: number;
      intervalMs: number;
    },
  ) {
    super('aging sweep', deps);
  }

  /** One pass; returns how many jobs were promoted. */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, keys, queue, requests, log } = this.deps;
    if (!(await takeLease(redis, keys.agingLease(), this.deps.intervalMs))) return 0;
    const from = Number((await redis.get(keys.agingWatermark())) ?? 0);
    const until = now - this.deps.maxWaitMs;
    if (until <= from) return 0;
    const page = await redis.zrangebyscore(
      keys.openRequests(),
      `(${from}`,
      until,
      'WITHSCORES',
      'LIMIT',
      0,
      PAGE,
    );
    let promoted = 0;
    let watermark = from;
    for (let i = 0; i < page.length; i += 2) {
      const id = page[i] as string;
      watermark = Number(page[i + 1]);
      const record = await requests.summary(id);
      // Batch lines age by their own rule (their completion window), not ahead of interactive work.
      if (!record || TERMINAL_STATUSES.includes(record.status) || record.batchId) continue;
      const job = await queue.getJob(id);
      if (!job || (job.priority ?? 0) <= AGED_PRIORITY) continue;
      // changePriority re-queues a waiting job behind earlier aged ones, and only updates the stored
      // priority of a delayed or active job (applied when it is queued again).
      await job.changePriority({ priority: AGED_PRIORITY });
      promoted++;
    }
    // A full page may have more behind it at the same score; a short page means we reached `until`.
    await redis.set(keys.agingWatermark(), String(page.length < PAGE * 2 ? until : watermark));
    if (promoted > 0) log.info({ promoted }, 'aged long-waiting requests ahead of every tier');
    return promoted;
  }
}
