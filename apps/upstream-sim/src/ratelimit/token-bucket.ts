const MS_PER_MINUTE = 60_000;

/**
 * A continuously refilled bucket for one per-minute budget (requests or tokens).
 *
 * It refills at `limitPerMinute / 60000` units per ms and holds at most
 * `limitPerMinute * windowMs / 60000` units, so a short `windowMs` caps bursts the way OpenAI enforces
 * per-minute limits over shorter intervals. The bucket starts full.
 */
export class TokenBucket {
  /** Largest amount the bucket can hold. */
  readonly capacity: number;
  private readonly refillPerMs: number;
  private level: number;
  private updatedAtMs: number;

  constructor(
    readonly limitPerMinute: number,
    windowMs: number,
    nowMs: number,
    minCapacity = 0,
  ) {
    this.capacity = Math.max((limitPerMinute * windowMs) / MS_PER_MINUTE, minCapacity);
    this.refillPerMs = limitPerMinute / MS_PER_MINUTE;
    this.level = this.capacity;
    this.updatedAtMs = nowMs;
  }

  /** Units available now (fractional). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.level;
  }

  /** Milliseconds until `cost` units are available; 0 when they already are, Infinity when they never fit. */
  waitMs(cost: number, nowMs: number): number {
    if (cost > this.capacity) return Number.POSITIVE_INFINITY;
    const missing = cost - this.available(nowMs);
    return missing <= 0 ? 0 : missing / this.refillPerMs;
  }

  /** Removes `cost` units; the caller checks `waitMs` first so the level never goes negative. */
  take(cost: number, nowMs: number): void {
    this.refill(nowMs);
    this.level = Math.max(0, this.level - cost);
  }

  /** Milliseconds until the bucket is full again (the `x-ratelimit-reset-*` value). */
  resetMs(nowMs: number): number {
    return (this.capacity - this.available(nowMs)) / this.refillPerMs;
  }

  private refill(nowMs: number): void {
    // A clock that goes backwards (tests, NTP) must not drain the bucket.
    const elapsed = Math.max(0, nowMs - this.updatedAtMs);
    this.level = Math.min(this.capacity, this.level + elapsed * this.refillPerMs);
    this.updatedAtMs = Math.max(this.updatedAtMs, nowMs);
  }
}
