import {
  type Logger,
  queueBatchDispatch,
  queueWebhookDispatch,
  type RedisKeys,
  type WebhookJobData,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PeriodicSweep, takeLease } from '../periodic.js';

/** Outbox entries younger than this are left to the path that finished the request. */
const MIN_AGE_MS = 5_000;
const PAGE = 500;

/**
 * The transactional outbox behind "nothing is lost": a request's or a batch's terminal transition adds it to the
 * outbox in the same Lua step, and the finishing path queues its dispatch right after. If that second
 * step never happened (a crash in between, Redis gone for a moment), this sweep queues it. Dispatch
 * removes the entry; its job id makes a double queueing harmless.
 */
export class OutboxSweeper extends PeriodicSweep {
  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      queue: Queue<WebhookJobData>;
      log: Logger;
      intervalMs: number;
    },
  ) {
    super('outbox sweep', deps);
  }

  /** One pass; returns how many dispatches it queued. */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, keys, queue } = this.deps;
    if (!(await takeLease(redis, keys.outboxLease(), this.deps.intervalMs))) return 0;
    const ids = await redis.zrangebyscore(keys.webhookOutbox(), 0, now - MIN_AGE_MS, 'LIMIT', 0, PAGE);
    // Requests and batches share the outbox; a batch's id says which it is.
    for (const id of ids) {
      if (id.startsWith('batch_')) await queueBatchDispatch(queue, id);
      else await queueWebhookDispatch(queue, id);
    }
    return ids.length;
  }
}
