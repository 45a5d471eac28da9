import {
  type Logger,
  queueBatchDispatch,
  queueWebhookDispatch,
  type RedisKeys,
  type WebhookJobData,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Outbox entries younger than this are left to the path that finished the request. */
const MIN_AGE_MS = 5_000;
const PAGE = 500;

/**
 * The transactional outbox behind "nothing is lost": a request's or a batch's terminal transition adds it to the
 * outbox in the same Lua step, and the finishing path queues its dispatch right after. If that second
 * step never happened (a crash in between, Redis gone for a moment), this sweep queues it. Dispatch
 * removes the entry; its job id makes a double queueing harmless.
 */
export class OutboxSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      queue: Queue<WebhookJobData>;
      log: Logger;
      intervalMs: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((err) => this.deps.log.warn({ err: String(err) }, 'outbox sweep failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns how many dispatches it queued. */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, keys, queue } = this.deps;
    const lease = await redis.set(keys.outboxLease(), String(process.pid), 'PX', this.deps.intervalMs, 'NX');
    if (lease !== 'OK') return 0;
    const ids = await redis.zrangebyscore(keys.webhookOutbox(), 0, now - MIN_AGE_MS, 'LIMIT', 0, PAGE);
    // Requests and batches share the outbox; a batch's id says which it is.
    for (const id of ids) {
      if (id.startsWith('batch_')) await queueBatchDispatch(queue, id);
      else await queueWebhookDispatch(queue, id);
    }
    return ids.length;
  }
}
