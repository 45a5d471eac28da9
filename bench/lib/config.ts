/**
 * Every knob of `pnpm bench:ratelimit` in one place: the upstream limits of each scenario, the offered
 * load, and the environment of the Sluice processes. Adjust WORKER_ENV when the worker grows new settings.
 */

export type Tier = 'enterprise' | 'pro' | 'free';
export const TIERS: readonly Tier[] = ['enterprise', 'pro', 'free'];

/** Limits and latency of the simulated upstream (SIM_RPM, SIM_TPM, SIM_WINDOW_MS, SIM_LATENCY_MS). */
export interface Limits {
  rpm: number;
  tpm: number;
  /** Window the per-minute limits are enforced over; the burst capacity is limit × windowMs / 60000. */
  windowMs: number;
  latencyMs: number;
}

/** Open-loop load: requests arrive evenly at `multiple` × the upstream's sustainable rate. */
export interface LoadScenario {
  kind: 'load';
  name: string;
  /** 'baseline' = the openai SDK straight at the simulator (maxRetries 2); 'sluice' = through the API. */
  client: 'baseline' | 'sluice';
  workers: number;
  limits: Limits;
  /** Arrival rate as a multiple of the sustainable rate (the ceiling's slope). */
  multiple: number;
  /**
   * Length of a perfectly paced run, in seconds: the load is the burst capacity plus this many seconds
   * of sustained budget, so a perfect client finishes after about this long and uses 100% of the ceiling.
   */
  idealSeconds: number;
}

/** A backlog of free-tier requests, then a trickle of enterprise high-priority requests. */
export interface PriorityScenario {
  kind: 'priority';
  name: string;
  client: 'sluice';
  workers: number;
  limits: Limits;
  /** Free-tier requests submitted as fast as the API accepts them. */
  backlog: number;
  /** Concurrent submissions while building the backlog. */
  submitConcurrency: number;
  /** One enterprise request every `highEveryMs` for `highSeconds`. */
  highEveryMs: number;
  highSeconds: number;
}

export type Scenario = LoadScenario | PriorityScenario;

export const MODEL = 'gpt-4o-mini';
/** The same prompt for every request, so each request is charged exactly the same tokens. */
export const PROMPT =
  'Benchmark request: in one sentence, why does a queue help in front of a rate-limited API?';
/** Every request sets max_tokens, so the simulator's charge (prompt tokens + max_tokens) is known. */
export const MAX_TOKENS = 64;

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
/** The one upstream key: Sluice's workers and the baseline client share the same budget, as one org would. */
export const UPSTREAM_API_KEY = 'sk-bench-upstream';

/** API environment for every Sluice scenario (on top of REDIS_URL, PORT, HOST, ADMIN_TOKEN, SLUICE_PREFIX). */
export const API_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  MAX_WAIT_SECONDS: '30',
  SHUTDOWN_TIMEOUT_MS: '2000',
};

/**
 * Worker environment for every Sluice scenario (on top of REDIS_URL, PORT, HOST, ADMIN_TOKEN,
 * SLUICE_PREFIX, OPENAI_BASE_URL, OPENAI_API_KEY). Retry settings are left at their production defaults.
 */
export const WORKER_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  /** A per-process ceiling; an adaptive controller decides how much of it to use. */
  WORKER_CONCURRENCY: '64',
  /** Teardown only: in-flight calls are aborted after 2 s instead of 30 s. */
  SHUTDOWN_TIMEOUT_MS: '2000',
};

/** Load mix, repeated every 10 requests: 2 enterprise (priority high), 3 pro, 5 free (both normal). */
export const TIER_PATTERN: readonly Tier[] = [
  'enterprise',
  'pro',
  'free',
  'free',
  'pro',
  'free',
  'enterprise',
  'free',
  'pro',
  'free',
];
/** Tenants per tier for the load scenarios (requests of a tier rotate over its tenants). */
export const TENANTS_PER_TIER: Record<Tier, number> = { enterprise: 1, pro: 2, free: 3 };
export const PRIORITY_OF: Record<Tier, 'high' | 'normal'> = {
  enterprise: 'high',
  pro: 'normal',
  free: 'normal',
};

/** Limits enforced over the minute: the whole minute's budget is available as a burst. */
const MINUTE: Limits = { rpm: 1_200, tpm: 90_000, windowMs: 60_000, latencyMs: 200 };
/** The same limits enforced over 1 s windows, as OpenAI does: bursts of about 1/60 of the minute. */
const SECOND: Limits = { rpm: 1_200, tpm: 90_000, windowMs: 1_000, latencyMs: 200 };
/** Higher limits for the backlog scenario, so 10,000 requests drain in about two minutes. */
const BACKLOG: Limits = { rpm: 6_000, tpm: 450_000, windowMs: 1_000, latencyMs: 200 };

export interface Sizing {
  /** Multiplies idealSeconds, the backlog and the high-tier window. */
  scale: number;
  quick: boolean;
}

/** The scenarios in run order. `--quick` shrinks them (see QUICK_SKIPS) to a smoke run of about two minutes. */
export function scenarios({ scale, quick }: Sizing): Scenario[] {
  const ideal = (quick ? 12 : 40) * scale;
  const load = (
    name: string,
    client: LoadScenario['client'],
    workers: number,
    limits: Limits,
  ): LoadScenario => ({
    kind: 'load',
    name,
    client,
    workers,
    limits,
    // With per-minute enforcement a whole minute's budget is a burst: arrive fast enough to outrun it.
    multiple: limits.windowMs >= 60_000 ? 10 : 5,
    idealSeconds: ideal,
  });
  const priority = (name: string, workers: number): PriorityScenario => ({
    kind: 'priority',
    name,
    client: 'sluice',
    workers,
    limits: BACKLOG,
    backlog: Math.round((quick ? 2_000 : 10_000) * scale),
    submitConcurrency: 64,
    highEveryMs: 200,
    highSeconds: (quick ? 10 : 30) * scale,
  });
  return [
    load('minute-baseline', 'baseline', 0, MINUTE),
    load('minute-1w', 'sluice', 1, MINUTE),
    load('minute-3w', 'sluice', 3, MINUTE),
    load('second-baseline', 'baseline', 0, SECOND),
    load('second-1w', 'sluice', 1, SECOND),
    load('second-3w', 'sluice', 3, SECOND),
    priority('priority-1w', 1),
    priority('priority-3w', 3),
  ];
}

/** What `--quick` leaves out unless asked for by name: the rows that add the least to a smoke run. */
export const QUICK_SKIPS: readonly string[] = ['minute-3w', 'priority-3w'];

/** Names accepted by --scenario, whatever the sizing. */
export const SCENARIO_NAMES: readonly string[] = scenarios({ scale: 1, quick: false }).map((s) => s.name);
