import { describe, expect, it } from 'vitest';
import { backoffDelayMs, RetryableError } from './backoff.js';

const opts = { baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('backoffDelayMs', () => {
  it('grows exponentially under full jitter', () => {
    expect(backoffDelayMs(1, undefined, opts, () => 0.999)).toBe(999);
    expect(backoffDelayMs(3, undefined, opts, () => 0.999)).toBe(3996);
    expect(backoffDelayMs(3, undefined, opts, () => 0)).toBe(0);
  });

  it('is capped by maxDelayMs', () => {
    expect(backoffDelayMs(30, undefined, opts, () => 0.5)).toBe(30_000);
  });

  it('honours retry-after as a floor with at most 10% jitter', () => {
    const err = new RetryableError('429', 2000);
    expect(backoffDelayMs(1, err, opts, () => 0)).toBe(2000);
    expect(backoffDelayMs(1, err, opts, () => 0.999)).toBeLessThanOrEqual(2200);
  });
});
