import { formatGoDuration } from './go-duration.js';
import { TokenBucket } from './token-bucket.js';

/** The budgets in force; a limit of 0 disables that budget. */
export interface LimitSettings {
  /** Requests per minute; 0 disables. */
  rpm: number;
  /** Tokens per minute; 0 disables. */
  tpm: number;
  /** Interval over which the per-minute limits are enforced, in ms (60000 = plain per-minute buckets). */
  windowMs: number;
}

export type BudgetName = 'requests' | 'tokens';

/** State of one budget as reported in `x-ratelimit-*` headers. */
export interface BudgetSnapshot {
  limit: number;
  remaining: number;
  resetMs: number;
}

export type LimitSnapshot = Partial<Record<BudgetName, BudgetSnapshot>>;

export type LimitDecision =
  | { allowed: true; snapshot: LimitSnapshot }
  | {
      allowed: false;
      budget: BudgetName;
      /** The request can never pass: its cost exceeds the bucket capacity. */
      tooLarge: boolean;
      /** Whole ms until both budgets can afford the request; Infinity when `tooLarge`. */
      retryAfterMs: number;
      /** Bucket capacity, rounded down: the "Limit" of OpenAI's message. */
      capacity: number;
      /** Units currently used in the bucket, rounded up: the "Used" of OpenAI's message. */
      used: number;
      requested: number;
      snapshot: LimitSnapshot;
    };

interface KeyBuckets {
  requests?: TokenBucket;
  tokens?: TokenBucket;
}

/** Default bound on remembered API keys; the oldest key's buckets are forgotten first. */
const DEFAULT_MAX_KEYS = 10_000;

/**
 * Per-API-key request and token budgets. Check-and-take is synchronous, so concurrent requests in the
 * one Node.js event loop can never both spend the last unit.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, KeyBuckets>();
  private settingsKey = '';

  constructor(
    private readonly settings: () => LimitSettings,
    private readonly now: () => number,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {}

  /** Charges one request and `tokens` tokens to `key` if both budgets allow it; a rejection takes nothing. */
  consume(key: string, tokens: number): LimitDecision {
    const now = this.now();
    const buckets = this.bucketsFor(key, now);
    const costs: Record<BudgetName, number> = { requests: 1, tokens };

    const tokenBucket = buckets.tokens;
    if (tokenBucket && tokens > tokenBucket.capacity) {
      return this.reject('tokens', tokenBucket, tokens, Number.POSITIVE_INFINITY, true, buckets, now);
    }

    let worst: { budget: BudgetName; bucket: TokenBucket; waitMs: number } | undefined;
    for (const budget of ['requests', 'tokens'] as const) {
      const bucket = buckets[budget];
      if (!bucket) continue;
      const waitMs = bucket.waitMs(costs[budget], now);
      if (waitMs > 0 && (!worst || waitMs > worst.waitMs)) worst = { budget, bucket, waitMs };
    }
    if (worst) {
      const retryAfterMs = Math.max(1, Math.ceil(worst.waitMs));
      return this.reject(worst.budget, worst.bucket, costs[worst.budget], retryAfterMs, false, buckets, now);
    }

    buckets.requests?.take(1, now);
    buckets.tokens?.take(tokens, now);
    return { allowed: true, snapshot: snapshotOf(buckets, now) };
  }

  /** The budgets of `key` without charging anything (for responses that never reached the model). */
  peek(key: string): LimitSnapshot {
    const now = this.now();
    return snapshotOf(this.bucketsFor(key, now), now);
  }

  /** Forgets every key: all budgets start full again. */
  reset(): void {
    this.buckets.clear();
  }

  private reject(
    budget: BudgetName,
    bucket: TokenBucket,
    requested: number,
    retryAfterMs: number,
    tooLarge: boolean,
    buckets: KeyBuckets,
    now: number,
  ): LimitDecision {
    return {
      allowed: false,
      budget,
      tooLarge,
      retryAfterMs,
      capacity: Math.floor(bucket.capacity),
      used: Math.max(0, Math.ceil(bucket.capacity - bucket.available(now) - 1e-9)),
      requested,
      snapshot: snapshotOf(buckets, now),
    };
  }

  private bucketsFor(key: string, now: number): KeyBuckets {
    const { rpm, tpm, windowMs } = this.settings();
    // New limits take effect at once: every key starts over with full buckets of the new size.
    const settingsKey = `${rpm}/${tpm}/${windowMs}`;
    if (settingsKey !== this.settingsKey) {
      this.buckets.clear();
      this.settingsKey = settingsKey;
    }
    let buckets = this.buckets.get(key);
    if (!buckets) {
      buckets = {};
      // A request costs 1, so the request bucket holds at least 1 or nothing could ever pass.
      if (rpm > 0) buckets.requests = new TokenBucket(rpm, windowMs, now, 1);
      if (tpm > 0) buckets.tokens = new TokenBucket(tpm, windowMs, now);
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      this.buckets.set(key, buckets);
    }
    return buckets;
  }
}

function snapshotOf(buckets: KeyBuckets, now: number): LimitSnapshot {
  const snapshot: LimitSnapshot = {};
  for (const budget of ['requests', 'tokens'] as const) {
    const bucket = buckets[budget];
    if (!bucket) continue;
    snapshot[budget] = {
      limit: bucket.limitPerMinute,
      remaining: Math.floor(bucket.available(now) + 1e-9),
      resetMs: Math.max(0, Math.ceil(bucket.resetMs(now) - 1e-9)),
    };
  }
  return snapshot;
}

/**
 * OpenAI's `x-ratelimit-*` headers for a snapshot. The limit header is the per-minute limit, as OpenAI
 * reports it even when it enforces shorter windows; budgets that are disabled get no headers.
 */
export function rateLimitHeaders(snapshot: LimitSnapshot): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const budget of ['requests', 'tokens'] as const) {
    const state = snapshot[budget];
    if (!state) continue;
    headers[`x-ratelimit-limit-${budget}`] = String(state.limit);
    headers[`x-ratelimit-remaining-${budget}`] = String(state.remaining);
    headers[`x-ratelimit-reset-${budget}`] = formatGoDuration(state.resetMs);
  }
  return headers;
}
