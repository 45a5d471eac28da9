import { describe, expect, it } from 'vitest';
import { type LimitSettings, RateLimiter, rateLimitHeaders } from './limiter.js';

function setup(settings: LimitSettings) {
  let now = 0;
  const current = { ...settings };
  const limiter = new RateLimiter(
    () => current,
    () => now,
  );
  return {
    limiter,
    current,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('allows up to the request limit, then rejects with the wait until one request refills', () => {
    const { limiter, advance } = setup({ rpm: 3, tpm: 0, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(limiter.consume('k', 10).allowed).toBe(true);
    const rejected = limiter.consume('k', 10);
    expect(rejected).toMatchObject({
      allowed: false,
      budget: 'requests',
      tooLarge: false,
      retryAfterMs: 20_000,
      capacity: 3,
      used: 3,
      requested: 1,
    });
    advance(19_999);
    expect(limiter.consume('k', 10).allowed).toBe(false);
    advance(1);
    expect(limiter.consume('k', 10).allowed).toBe(true);
  });

  it('charges tokens and reports the token budget when it is the one short', () => {
    const { limiter } = setup({ rpm: 100, tpm: 1_000, windowMs: 60_000 });
    expect(limiter.consume('k', 800).allowed).toBe(true);
    const rejected = limiter.consume('k', 300);
    expect(rejected).toMatchObject({ allowed: false, budget: 'tokens', used: 800, requested: 300 });
    // 100 tokens missing at 1000/60000 per ms.
    expect(!rejected.allowed && rejected.retryAfterMs).toBe(6_000);
  });

  it('a rejected request takes nothing from either budget', () => {
    const { limiter } = setup({ rpm: 10, tpm: 1_000, windowMs: 60_000 });
    limiter.consume('k', 900);
    expect(limiter.consume('k', 200).allowed).toBe(false);
    expect(limiter.peek('k')).toEqual({
      requests: { limit: 10, remaining: 9, resetMs: 6_000 },
      tokens: { limit: 1_000, remaining: 100, resetMs: 54_000 },
    });
  });

  it('flags a request larger than the token capacity as never passing', () => {
    const { limiter } = setup({ rpm: 0, tpm: 6_000, windowMs: 1_000 });
    const rejected = limiter.consume('k', 101);
    expect(rejected).toMatchObject({ allowed: false, budget: 'tokens', tooLarge: true, capacity: 100 });
    expect(limiter.consume('k', 100).allowed).toBe(true);
  });

  it('keeps separate budgets per key and none for disabled limits', () => {
    const { limiter } = setup({ rpm: 1, tpm: 0, windowMs: 60_000 });
    expect(limiter.consume('a', 1).allowed).toBe(true);
    expect(limiter.consume('a', 1).allowed).toBe(false);
    expect(limiter.consume('b', 1).allowed).toBe(true);
    expect(limiter.peek('c')).toEqual({ requests: { limit: 1, remaining: 1, resetMs: 0 } });
  });

  it('starts over when the settings change', () => {
    const { limiter, current } = setup({ rpm: 1, tpm: 0, windowMs: 60_000 });
    limiter.consume('a', 1);
    current.rpm = 2;
    expect(limiter.peek('a').requests?.remaining).toBe(2);
  });

  it('renders OpenAI headers and omits disabled budgets', () => {
    expect(rateLimitHeaders({ tokens: { limit: 150_000, remaining: 149_984, resetMs: 6 } })).toEqual({
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-tokens': '6ms',
    });
  });
});
