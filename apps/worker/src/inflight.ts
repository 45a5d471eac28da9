import type { Job, Processor } from 'bullmq';

/**
 * Counts the jobs this process is working on, across its pools. Shutdown waits on this count rather
 * than on BullMQ's `close()`: that also waits for the fetch loop, which retries forever while Redis
 * is unreachable, so a worker whose Redis went away first would never stop.
 */
export class InFlight {
  private active = 0;
  private waiters: (() => void)[] = [];

  get count(): number {
    return this.active;
  }

  /**
   * Wraps a processor so each call is counted while it runs. The wrapper declares all three
   * parameters on purpose: BullMQ passes the job's AbortSignal only to processors whose arity is 3.
   */
  track<D, R>(processor: Processor<D, R>): Processor<D, R> {
    return async (job: Job<D, R>, token?: string, signal?: AbortSignal) => {
      this.active += 1;
      try {
        return await processor(job, token, signal);
      } finally {
        this.active -= 1;
        if (this.active === 0) for (const wake of this.waiters.splice(0)) wake();
      }
    };
  }

  /** Resolves when no tracked call is running (at once if none is). */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
