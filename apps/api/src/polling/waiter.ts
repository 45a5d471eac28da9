import type { Logger, RedisKeys } from '@sluice/core';
import type { Redis } from 'ioredis';

/**
 * Long polling without hammering Redis: one subscriber connection per API process listens on the
 * request-done channel and wakes the polls waiting for that id. Callers re-read the record after
 * subscribing, so a completion published just before the wait began is never missed.
 */
export class CompletionWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {
    subscriber.on('message', (_channel: string, id: string) => this.wake(id));
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.keys.requestDoneChannel());
  }

  /**
   * Resolves when `id` finishes, `timeoutMs` passes, or the waiter closes. `isDone` is checked once
   * the registration is in place, closing the race with a completion that just happened.
   */
  async wait(id: string, timeoutMs: number, isDone: () => Promise<boolean>): Promise<void> {
    if (this.closed || timeoutMs <= 0) return;
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const set = this.waiters.get(id) ?? new Set();
    set.add(wake);
    this.waiters.set(id, set);
    const timer = setTimeout(wake, timeoutMs);
    try {
      if (await isDone()) return;
      await woken;
    } finally {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  /** Number of polls currently held open. */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  private wake(id: string): void {
    const set = this.waiters.get(id);
    if (!set) return;
    for (const fn of set) fn();
  }

  /** Releases every held poll (they answer with the current state) and unsubscribes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) for (const fn of set) fn();
    try {
      await this.subscriber.unsubscribe();
    } catch (err) {
      this.log.debug({ err }, 'unsubscribe failed during shutdown');
    }
  }
}
