import {
  BATCH_PROMOTED_PRIORITY,
  BATCH_URGENT_PRIORITY,
  type BatchJobData,
  type BatchStore,
  type Logger,
  queueBatchStep,
  type RedisKeys,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PeriodicSweep, takeLease } from '../periodic.js';

/**
 * Watches every active batch (one replica at a time): queues its finalize step once every line has
 * ended, its expiry at the end of the completion window, and promotes its remaining lines as the window
 * runs out (ahead of the free tier `promoteBeforeMs` before expiry, ahead of every tier `urgentBeforeMs`
 * before), so interactive traffic cannot starve a batch past its window.
 */
export class BatchSweeper extends PeriodicSweep {
  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      batches: BatchStore;
      queue: Queue<BatchJobData>;
      log: Logger;
      intervalMs: number;
      promoteBeforeMs: number;
      urgentBeforeMs: number;
    },
  ) {
    super('batch sweep', deps);
  }

  async sweep(now = Date.now()): Promise<void> {
    const { redis, keys, batches, queue } = this.deps;
    if (!(await takeLease(redis, keys.batchLease(), this.deps.intervalMs))) return;
    for (const id of await batches.active()) {
      const b = await batches.get(id);
      if (!b) {
        await redis.srem(keys.activeBatches(), id);
        continue;
      }
      const ended = b.completed + b.failed + b.cancelled;
      if (now >= b.expiresAt && ['validating', 'in_progress', 'cancelling'].includes(b.status)) {
        await queueBatchStep(queue, { kind: 'expire', batchId: id });
      } else if (b.status === 'in_progress' && b.total > 0 && b.enqueued >= b.total && ended >= b.total) {
        await queueBatchStep(queue, { kind: 'finalize', batchId: id, final: 'completed' });
      } else if (b.status === 'cancelling' && ended >= b.enqueued) {
        await queueBatchStep(queue, { kind: 'finalize', batchId: id, final: 'cancelled' });
      } else if (b.status === 'finalizing') {
        const final = ((await redis.hget(keys.batch(id), 'final_status')) ?? 'completed') as 'completed';
        await queueBatchStep(queue, { kind: 'finalize', batchId: id, final });
      } else if (b.status === 'in_progress') {
        const promoted = Number((await redis.hget(keys.batch(id), 'promoted_priority')) ?? 1_000_000);
        const left = b.expiresAt - now;
        const want =
          left <= this.deps.urgentBeforeMs
            ? BATCH_URGENT_PRIORITY
            : left <= this.deps.promoteBeforeMs
              ? BATCH_PROMOTED_PRIORITY
              : null;
        if (want !== null && want < promoted)
          await queueBatchStep(queue, { kind: 'promote', batchId: id, priority: want });
      }
    }
  }
}
