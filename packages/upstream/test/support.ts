import type { ControllerOptions } from '../src/index.js';

/**
 * Controller settings the rate-limit tests share: two probe calls before the limits are known, 1 s
 * pauses, and a breaker that opens after 3 failures in a row or half of 10+ calls.
 */
export const controllerOptions = (overrides: Partial<ControllerOptions> = {}): ControllerOptions => ({
  initialConcurrency: 2,
  maxConcurrency: 100,
  concurrencyHeadroom: 1.5,
  leaseTtlMs: 60_000,
  defaultPauseMs: 1_000,
  breaker: {
    consecutiveFailures: 3,
    errorRate: 0.5,
    minRequests: 10,
    windowMs: 30_000,
    cooldownMs: 1_000,
    halfOpenProbes: 1,
  },
  ...overrides,
});
