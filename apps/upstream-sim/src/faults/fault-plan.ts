import type { Directives } from './directives.js';
import type { Random } from './prng.js';

/** Probabilities (0..1) of each injected fault per accepted request. */
export interface FaultRates {
  errorRate: number;
  hangRate: number;
  malformedRate: number;
  truncatedRate: number;
}

/** What the simulator does with a request that passed the rate limits. */
export type FaultPlan =
  | { kind: 'answer' }
  | { kind: 'error'; status: number; code?: string; retryAfterMs?: number; source: 'random' | 'directive' }
  | { kind: 'hang' }
  | { kind: 'malformed' }
  | { kind: 'truncated' };

/** `retry-after-ms` sent with a random 503, short so clients that honour it retry quickly. */
export const RANDOM_503_RETRY_AFTER_MS = 200;

/**
 * Draws one random number per request (two for an error) whatever the outcome, so the sequence of faults
 * depends only on the seed and the order of requests. The rates share one draw, stacked in the order error,
 * hang, malformed, truncated; if they sum past 1 the later ones get what is left.
 */
export function drawRandomFault(random: Random, rates: FaultRates): FaultPlan {
  let u = random();
  if (u < rates.errorRate) {
    // Half 500 (plain server error), half 503 (overloaded, with a retry hint).
    return random() < 0.5
      ? { kind: 'error', status: 500, source: 'random' }
      : { kind: 'error', status: 503, retryAfterMs: RANDOM_503_RETRY_AFTER_MS, source: 'random' };
  }
  u -= rates.errorRate;
  if (u < rates.hangRate) return { kind: 'hang' };
  u -= rates.hangRate;
  if (u < rates.malformedRate) return { kind: 'malformed' };
  u -= rates.malformedRate;
  if (u < rates.truncatedRate) return { kind: 'truncated' };
  return { kind: 'answer' };
}

/**
 * Directives win over the random draw. `failuresSoFar` is how many earlier calls carried the same prompt,
 * which `[sim:fail=503x2]` compares against.
 */
export function planFault(directives: Directives, randomPlan: FaultPlan, failuresSoFar: number): FaultPlan {
  if (directives.hang) return { kind: 'hang' };
  const withHints = {
    code: directives.code,
    retryAfterMs: directives.retryAfterMs,
    source: 'directive' as const,
  };
  if (directives.status !== undefined) return { kind: 'error', status: directives.status, ...withHints };
  if (directives.fail && failuresSoFar < directives.fail.times) {
    return { kind: 'error', status: directives.fail.status, ...withHints };
  }
  if (directives.malformed) return { kind: 'malformed' };
  if (directives.truncated) return { kind: 'truncated' };
  // A prompt that carries `fail=` succeeds deterministically once its failures are spent.
  if (directives.fail) return { kind: 'answer' };
  return randomPlan;
}
