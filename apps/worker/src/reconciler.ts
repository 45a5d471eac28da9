import {
  AGED_PRIORITY,
  type CompletionJobData,
  completionJobOptions,
  type Logger,
  type RedisKeys,
  type RequestStore,
  retryPriority,
  TERMINAL_STATUSES,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkerMetrics } from './metrics.js';
import { PeriodicSweep, takeLease } from './periodic.js';

export interface ReconcilerDeps {
  redis: Redis;
  keys: RedisKeys;
  queue: Queue<CompletionJobData>;
  requests: RequestStore;
  metrics: WorkerMetrics;
  log: Logger;
  /** Called after the reconciler ends a request, as the processor does (queues its webhooks now). */
  onFinished?: (requestId: string) => void;
  maxAttempts: number;
  /** How often to sweep, ms. */
  intervalMs: number;
  /** Only requests older than this are examined (younger ones may be mid-submit), ms. */
  minAgeMs: number;
}

const PAGE = 500;

/**
 * The safety net behind "every accepted request ends in exactly one terminal state": it walks the
 * index of unfinished requests and repairs those whose job is gone (the API died between storing and
 * enqueueing: re-enqueue) or failed outside the processor (stalled too often: mark failed). One
 * replica sweeps at a time, holding a lease in Redis.
 */
export class Reconciler extends PeriodicSweep {
  constructor(private readonly deps: ReconcilerDeps) {
    super('reconcile sweep', deps);
  }

  /** One pass; returns the number of repaired requests. */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, keys, queue, requests, log, metrics } = this.deps;
    if (!(await takeLease(redis, keys.reconcilerLease(), this.deps.intervalMs))) return 0;
    let repaired = 0;
    let offset = 0;
    // Requests created up to the aging watermark were aged (or would have been, had their job been
    // there); the aging sweep never looks at them again, so a re-added job must start aged.
    const agedUntil = Number((await redis.get(keys.agingWatermark())) ?? 0);
    for (;;) {
      const page = await redis.zrangebyscore(
        keys.openRequests(),
        0,
        now - this.deps.minAgeMs,
        'WITHSCORES',
        'LIMIT',
        offset,
        PAGE,
      );
      if (page.length === 0) break;
      offset += page.length / 2;
      for (let i = 0; i < page.length; i += 2) {
        const id = page[i] as string;
        const createdAt = Number(page[i + 1]);
        const record = await requests.summary(id);
        if (!record || TERMINAL_STATUSES.includes(record.status)) {
          await requests.forgetOpen(id);
          offset--;
          continue;
        }
        const state = await queue.getJobState(id);
        if (state === 'unknown') {
          await queue.add(
            'completion',
            { requestId: id, tenantId: record.tenantId },
            completionJobOptions(
              id,
              retryPriority(record, record.attempts, await this.raised(record.batchId, createdAt, agedUntil)),
              {
                maxAttempts: this.deps.maxAttempts,
              },
            ),
          );
          log.warn({ requestId: id }, 'reconciler re-enqueued a request whose job was missing');
          metrics.reconciled.inc({ action: 'reenqueued' });
          repaired++;
        } else if (state === 'failed' || state === 'completed') {
          const job = await queue.getJob(id);
          const done = await requests.fail(id, {
            code: 'worker_lost',
            message: `The job ended without a result (${job?.failedReason ?? state}).`,
          });
          if (done === 'ok') {
            offset--;
            log.warn({ requestId: id, state }, 'reconciler failed a request whose job had ended');
            metrics.reconciled.inc({ action: 'failed' });
            metrics.requestsFinished.inc({ status: 'failed', code: 'worker_lost' });
            this.deps.onFinished?.(id);
            repaired++;
          }
        }
      }
    }
    return repaired;
  }

  /** The place a sweep raised the request's job to (aged, or its batch promoted), if any. */
  private async raised(
    batchId: string | null,
    createdAt: number,
    agedUntil: number,
  ): Promise<number | undefined> {
    if (batchId) {
      const promoted = await this.deps.redis.hget(this.deps.keys.batch(batchId), 'promoted_priority');
      return promoted === null ? undefined : Number(promoted);
    }
    return createdAt <= agedUntil ? AGED_PRIORITY : undefined;
  }
}
