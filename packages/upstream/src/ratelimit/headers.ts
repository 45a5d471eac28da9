/** What an upstream's `x-ratelimit-*` headers say; null = unknown (missing, `-1`, `0` or unparseable). */
export interface RateLimitHeaders {
  limitRequests: number | null;
  limitTokens: number | null;
  remainingRequests: number | null;
  remainingTokens: number | null;
  /** Time until the request budget is full again, ms. */
  resetRequestsMs: number | null;
  /** Time until the token budget is full again, ms. */
  resetTokensMs: number | null;
}

const UNITS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};

/**
 * Parses Go-style durations as OpenAI sends them: `20ms`, `1.5s`, `6m0s`, `1h32m15s`.
 * Units are matched longest-first so the `m` of `ms` is never read as minutes. A bare number is seconds.
 */
export function parseDurationMs(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    if (match.index !== consumed) return null;
    total += Number(match[1]) * (UNITS[match[2] ?? ''] ?? Number.NaN);
    consumed += match[0].length;
  }
  return consumed === text.length && Number.isFinite(total) ? total : null;
}

function positiveInt(value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) && n > 0 ? n : null;
}

function nonNegativeInt(value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Reads the six `x-ratelimit-*` headers. Limits of 0 or -1 (seen from Azure) mean unknown. */
export function parseRateLimitHeaders(headers: Headers | undefined): RateLimitHeaders {
  const get = (name: string) => headers?.get(name) ?? null;
  const limitRequests = positiveInt(get('x-ratelimit-limit-requests'));
  const limitTokens = positiveInt(get('x-ratelimit-limit-tokens'));
  return {
    limitRequests,
    limitTokens,
    // A remaining count only means something next to a known limit.
    remainingRequests: limitRequests ? nonNegativeInt(get('x-ratelimit-remaining-requests')) : null,
    remainingTokens: limitTokens ? nonNegativeInt(get('x-ratelimit-remaining-tokens')) : null,
    resetRequestsMs: limitRequests ? parseDurationMs(get('x-ratelimit-reset-requests')) : null,
    resetTokensMs: limitTokens ? parseDurationMs(get('x-ratelimit-reset-tokens')) : null,
  };
}
