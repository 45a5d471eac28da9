import { describe, expect, it } from 'vitest';
import { formatGoDuration } from './go-duration.js';

describe('formatGoDuration', () => {
  it.each([
    [0, '0s'],
    [20, '20ms'],
    [1, '1ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1574, '1.574s'],
    [8640, '8.64s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [61_500, '1m1.5s'],
    [3_600_000, '1h0m0s'],
    [5_535_000, '1h32m15s'],
    [90_061_001, '25h1m1.001s'],
  ])('formats %d ms as %s', (ms, expected) => {
    expect(formatGoDuration(ms)).toBe(expected);
  });

  it('keeps sub-millisecond precision like Go', () => {
    expect(formatGoDuration(1.5)).toBe('1.5ms');
    expect(formatGoDuration(0.25)).toBe('250µs');
    expect(formatGoDuration(0.000_5)).toBe('500ns');
    expect(formatGoDuration(16.666_666_7)).toBe('16.666667ms');
  });

  it('handles negatives and non-finite input', () => {
    expect(formatGoDuration(-1500)).toBe('-1.5s');
    expect(formatGoDuration(Number.NaN)).toBe('0s');
    expect(formatGoDuration(Number.POSITIVE_INFINITY)).toBe('0s');
  });
});
