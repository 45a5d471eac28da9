import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long. Default 10_000 ms. */
  timeoutMs?: number;
  /** Pause between attempts. Default 50 ms. */
  intervalMs?: number;
  /** What was being waited for; the timeout error starts with it. Default 'condition'. */
  message?: string;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

/**
 * Polls `fn` until it returns true. A throw counts as "not yet"; the last one is quoted in the
 * timeout error, because it usually explains why the condition never held.
 */
export async function waitFor(
  fn: () => Promise<boolean> | boolean,
  options: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${message}${cause}`);
    }
    await sleep(intervalMs);
  }
}
