import type { Hono } from 'hono';
import pino, { type Logger } from 'pino';
import { applyConfigPatch, DEFAULT_SIM_CONFIG, type SimConfig, type SimConfigPatch } from './config.js';
import type { CallFilter, CallLogLimits, CallQueryResult } from './observe/call-log.js';
import type { SimStats } from './observe/stats.js';
import { createSimApp, type SimEnv } from './routes/index.js';
import { configureState, createState, resetState, type SimState } from './state.js';

/** Models listed by `GET /v1/models` unless `models` is given. */
export const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'text-embedding-3-small'] as const;

/** Options of `createSimulator`; every `SimConfig` field may be given and defaults to `DEFAULT_SIM_CONFIG`. */
export interface SimulatorOptions extends Partial<SimConfig> {
  /** When set, `Authorization: Bearer <apiKey>` must match exactly; otherwise any non-empty token works. */
  apiKey?: string;
  /** Models listed by `GET /v1/models`. Default `DEFAULT_MODELS`. */
  models?: readonly string[];
  /** Largest accepted request body, in bytes. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Bounds of the call log behind `/_sim/calls`. */
  callLog?: Partial<CallLogLimits>;
  /** Clock for the rate-limit buckets, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Logger; never given prompt contents. Default: silent. */
  logger?: Logger;
}

export interface Simulator {
  /** The Hono app; serve it or drive it with `app.request()`. */
  app: Hono<SimEnv>;
  state: SimState;
  stats(): SimStats;
  /** Current settings. */
  config(): SimConfig;
  /** Validates and applies a partial update; throws `SimConfigError` naming the bad field. */
  configure(patch: SimConfigPatch): SimConfig;
  /** Zeroes counters, empties the call log, refills every bucket and reseeds the PRNGs. */
  reset(): void;
  /** Counts calls that reached the simulated model, e.g. `calls({ contains: 'my prompt' }).count`. */
  calls(filter?: CallFilter): CallQueryResult;
  /** Releases hung requests and pending latency waits; safe to call twice. */
  close(): void;
}

const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Builds a simulator without listening; reads nothing from the environment. */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const { apiKey, models, maxBodyBytes, callLog, now, logger, ...settings } = options;
  const config = applyConfigPatch(DEFAULT_SIM_CONFIG, withoutUndefined(settings));
  const state = createState({
    config,
    apiKey: apiKey || undefined,
    models: models ?? DEFAULT_MODELS,
    maxBodyBytes: maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    callLog: callLog ?? {},
    now: now ?? Date.now,
    logger: logger ?? pino({ enabled: false }),
  });
  const app = createSimApp(state);
  return {
    app,
    state,
    stats: () => state.stats.snapshot(),
    config: () => ({ ...state.config }),
    configure: (patch) => configureState(state, patch),
    reset: () => resetState(state),
    calls: (filter) => state.calls.query(filter),
    close: () => state.shutdown.abort(),
  };
}

function withoutUndefined(settings: Partial<SimConfig>): Partial<SimConfig> {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
