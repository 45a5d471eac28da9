/** A retryable failure carrying how long the upstream asked us to wait. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/**
 * Exponential backoff with full jitter (AWS's recommendation: spreads retries of a burst evenly),
 * except that an upstream's retry-after is honoured as a floor, plus up to 10% jitter so a fleet
 * does not return at the same instant.
 */
export function backoffDelayMs(
  attemptsMade: number,
  err: Error | undefined,
  opts: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.floor(random() * ceiling);
  if (err instanceof RetryableError && err.retryAfterMs !== null) {
    return Math.ceil(err.retryAfterMs + random() * err.retryAfterMs * 0.1);
  }
  return jittered;
}
