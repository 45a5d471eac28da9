import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseRateLimitHeaders } from './headers.js';

describe('parseDurationMs', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1.5s', 1500],
    ['8.64s', 8640],
    ['1h32m15s', 5_535_000],
    ['2m30.5s', 150_500],
    ['500us', 0.5],
    ['3', 3000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', 'soon', '1x', '-1s', 's', '1s garbage'])('%j is unknown', (text) => {
    expect(parseDurationMs(text)).toBeNull();
  });
});

describe('parseRateLimitHeaders', () => {
  it('reads all six headers', () => {
    const h = new Headers({
      'x-ratelimit-limit-requests': '600',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '599',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-requests': '100ms',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    expect(parseRateLimitHeaders(h)).toEqual({
      limitRequests: 600,
      limitTokens: 150_000,
      remainingRequests: 599,
      remainingTokens: 149_984,
      resetRequestsMs: 100,
      resetTokensMs: 360_000,
    });
  });

  it('treats missing, -1 and 0 limits as unknown', () => {
    const h = new Headers({
      'x-ratelimit-limit-requests': '-1',
      'x-ratelimit-remaining-requests': '5',
      'x-ratelimit-limit-tokens': '0',
    });
    const parsed = parseRateLimitHeaders(h);
    expect(parsed.limitRequests).toBeNull();
    expect(parsed.remainingRequests).toBeNull();
    expect(parsed.limitTokens).toBeNull();
    expect(parseRateLimitHeaders(new Headers()).resetTokensMs).toBeNull();
    expect(parseRateLimitHeaders(undefined).limitRequests).toBeNull();
  });
});
