import type { Logger } from 'pino';
import { applyConfigPatch, type SimConfig } from './config.js';
import { createRandom, type Random } from './faults/prng.js';
import { BoundedCounter } from './observe/bounded-counter.js';
import { CallLog, type CallLogLimits } from './observe/call-log.js';
import { StatsRecorder } from './observe/stats.js';
import { RateLimiter } from './ratelimit/limiter.js';

/** Prompt hashes remembered for `[sim:fail=…]` counters. */
const MAX_FAIL_COUNTERS = 10_000;
// Separate streams so changing the jitter never shifts which requests get a fault.
const JITTER_SEED_OFFSET = 0x9e37_79b9;

/** Everything the routes share; one instance per simulator. */
export interface SimState {
  config: SimConfig;
  /** When set, the bearer token must equal it exactly. */
  readonly apiKey: string | undefined;
  readonly models: readonly string[];
  readonly maxBodyBytes: number;
  readonly limiter: RateLimiter;
  readonly stats: StatsRecorder;
  readonly calls: CallLog;
  /** Calls seen per prompt hash, for `[sim:fail=503x2]`. */
  readonly failCounts: BoundedCounter;
  faultRandom: Random;
  jitterRandom: Random;
  /** Aborted by `close()`: releases hung requests and pending latency waits. */
  readonly shutdown: AbortController;
  readonly now: () => number;
  readonly logger: Logger;
}

export interface StateDeps {
  config: SimConfig;
  apiKey: string | undefined;
  models: readonly string[];
  maxBodyBytes: number;
  callLog: Partial<CallLogLimits>;
  now: () => number;
  logger: Logger;
}

export function createState(deps: StateDeps): SimState {
  const state: SimState = {
    config: deps.config,
    apiKey: deps.apiKey,
    models: deps.models,
    maxBodyBytes: deps.maxBodyBytes,
    limiter: new RateLimiter(() => state.config, deps.now),
    stats: new StatsRecorder(),
    calls: new CallLog(deps.callLog),
    failCounts: new BoundedCounter(MAX_FAIL_COUNTERS),
    faultRandom: createRandom(deps.config.seed),
    jitterRandom: createRandom(deps.config.seed + JITTER_SEED_OFFSET),
    shutdown: new AbortController(),
    now: deps.now,
    logger: deps.logger,
  };
  return state;
}

/** Applies a validated partial config; a new seed restarts the PRNGs. Throws `SimConfigError`. */
export function configureState(state: SimState, patch: unknown): SimConfig {
  const next = applyConfigPatch(state.config, patch);
  const reseed = next.seed !== state.config.seed;
  state.config = next;
  if (reseed) reseedState(state);
  return next;
}

/** Zeroes counters, empties the call log and fail counters, refills every bucket and restarts the PRNGs. */
export function resetState(state: SimState): void {
  state.stats.reset();
  state.calls.clear();
  state.failCounts.clear();
  state.limiter.reset();
  reseedState(state);
}

function reseedState(state: SimState): void {
  state.faultRandom = createRandom(state.config.seed);
  state.jitterRandom = createRandom(state.config.seed + JITTER_SEED_OFFSET);
}
