import type { Logger } from '@sluice/core';
import type { Redis } from 'ioredis';

/**
 * The shape every background sweep of the worker shares (aging, reconciler, batch, outbox, files):
 * `sweep()` runs every `intervalMs`, never two passes at once in one process, a failed pass is logged
 * and the next one tries again, and `stop()` waits for the pass in progress. Tests call `sweep()`
 * directly with a chosen `now`.
 */
export abstract class PeriodicSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  protected constructor(
    private readonly what: string,
    private readonly every: { intervalMs: number; log: Logger },
  ) {}

  /** One pass; returns what it did (a count), for tests and logs. */
  abstract sweep(now?: number): Promise<unknown>;

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((err) => this.every.log.warn({ err: String(err) }, `${this.what} failed`))
        .finally(() => {
          this.running = undefined;
        });
    }, this.every.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

/**
 * Takes a sweep's lease for one interval: true when this replica may sweep now. One replica at a
 * time does each sweep; a replica that dies loses the lease when it expires.
 */
export async function takeLease(redis: Redis, key: string, ms: number): Promise<boolean> {
  return (await redis.set(key, String(process.pid), 'PX', ms, 'NX')) === 'OK';
}
