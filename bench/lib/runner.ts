/**
 * One scenario = fresh processes, one load, one row of results. Everything started is stopped again,
 * whatever happens.
 */

import { setMaxListeners } from 'node:events';
import {
  baselineClient,
  baselineRequest,
  type Outcome,
  openLoop,
  pool,
  sluiceRequest,
  submit,
} from './clients.js';
import {
  type LoadScenario,
  type PriorityScenario,
  type Scenario,
  TENANTS_PER_TIER,
  TIER_PATTERN,
  TIERS,
  type Tier,
} from './config.js';
import { type Stack, startStack, type Tenant } from './stack.js';
import { type Ceiling, ceilingOf, type SimStats, type Summary, sumBy, summarize, tally } from './stats.js';

/** What the upstream saw over the measured window, and how it compares with the ceiling. */
export interface UpstreamResult {
  chargeTokens: number;
  windowSeconds: number;
  ceiling: Ceiling;
  sim: SimStats;
  /** Worker-side upstream call outcomes (ok, rate_limited, server_error, …), summed over workers. */
  workerOutcomes: Record<string, number>;
}

export interface Counts {
  sent: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Not terminal when measuring stopped. */
  open: number;
}

/** What outcomes say besides their counts: mean upstream attempts, failure codes, the open ones' last state. */
export interface OutcomeDetails {
  attemptsMean?: number;
  failures: Record<string, number>;
  stuck: string[];
}

export interface LoadRow extends OutcomeDetails {
  kind: 'load';
  scenario: LoadScenario;
  offered: { requests: number; perSecond: number; seconds: number };
  counts: Counts;
  /** Send → terminal, per tier (completed and failed requests). */
  latency: Record<Tier, Summary>;
  /** Send → 202 (Sluice only). */
  ack: Summary;
  upstream: UpstreamResult;
  problems: string[];
  wallSeconds: number;
}

export interface PriorityRow {
  kind: 'priority';
  scenario: PriorityScenario;
  backlog: {
    accepted: number;
    rejected: Record<string, number>;
    submitSeconds: number;
    /** Finished by the workers before measuring stopped (worker metrics minus the high-tier requests). */
    served: number;
    failed: number;
    left: number;
  };
  high: Counts &
    OutcomeDetails & {
      latency: Summary;
      /** High-tier requests that took longer than 3x the upstream latency (the goal's bound). */
      overGoal: number;
    };
  upstream: UpstreamResult;
  problems: string[];
  wallSeconds: number;
}

export interface ErrorRow {
  kind: 'error';
  scenario: Scenario;
  message: string;
}

export type Row = LoadRow | PriorityRow | ErrorRow;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export async function runScenario(scenario: Scenario): Promise<Row> {
  const started = performance.now();
  let stack: Stack | undefined;
  try {
    log(`${scenario.name}: starting ${describeStack(scenario)}`);
    stack = await startStack(
      scenario.limits,
      scenario.client === 'sluice' ? { workers: scenario.workers } : undefined,
    );
    const row =
      scenario.kind === 'load'
        ? await runLoad(scenario, stack, started)
        : await runPriority(scenario, stack, started);
    row.problems.push(...stack.problems());
    return row;
  } catch (err) {
    log(`${scenario.name}: ERROR ${(err as Error).stack ?? String(err)}`);
    return { kind: 'error', scenario, message: (err as Error).message.split('\n')[0] ?? String(err) };
  } finally {
    await stack?.stop().catch((err) => log(`${scenario.name}: stop failed: ${String(err)}`));
    log(`${scenario.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

function describeStack(s: Scenario): string {
  const l = s.limits;
  const sim = `simulator (${l.rpm} RPM, ${l.tpm} TPM, window ${l.windowMs} ms, latency ${l.latencyMs} ms)`;
  return s.client === 'baseline' ? sim : `redis, ${sim}, API, ${s.workers} worker(s)`;
}

async function createTenants(stack: Stack, counts: Record<Tier, number>): Promise<Record<Tier, Tenant[]>> {
  const out: Record<Tier, Tenant[]> = { enterprise: [], pro: [], free: [] };
  for (const tier of TIERS) {
    for (let i = 1; i <= counts[tier]; i++) out[tier].push(await stack.createTenant(`${tier}-${i}`, tier));
  }
  return out;
}

function countOutcomes(outcomes: readonly Outcome[]): Counts {
  const counts: Counts = { sent: outcomes.length, completed: 0, failed: 0, cancelled: 0, open: 0 };
  for (const o of outcomes) counts[o.status]++;
  return counts;
}

function failuresOf(outcomes: readonly Outcome[]): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const o of outcomes) if (o.status === 'failed') tally(failures, o.code ?? 'unknown');
  return failures;
}

const stuckOf = (outcomes: readonly Outcome[]) =>
  outcomes.filter((o) => o.status === 'open').map((o) => o.lastSeen ?? '?');

function meanAttempts(outcomes: readonly Outcome[]): number | undefined {
  const attempts = outcomes.flatMap((o) => (o.attempts === undefined ? [] : [o.attempts]));
  return attempts.length ? attempts.reduce((a, b) => a + b, 0) / attempts.length : undefined;
}

const detailsOf = (outcomes: readonly Outcome[]): OutcomeDetails => ({
  attemptsMean: meanAttempts(outcomes),
  failures: failuresOf(outcomes),
  stuck: stuckOf(outcomes),
});

/** End of the measured window: the last outcome the client saw, or `deadline` when some never finished. */
function windowEnd(outcomes: readonly Outcome[], deadline: number): number {
  if (outcomes.some((o) => o.status === 'open')) return deadline;
  return outcomes.reduce((end, o) => Math.max(end, o.sentAt + (o.doneMs ?? 0)), 0);
}

async function upstreamResult(
  stack: Stack,
  scenario: Scenario,
  t0: number,
  tEnd: number,
): Promise<UpstreamResult> {
  const windowSeconds = (tEnd - t0) / 1000;
  const [sim, metrics] = await Promise.all([stack.sim.stats(), stack.workerMetrics()]);
  return {
    chargeTokens: stack.sim.chargeTokens,
    windowSeconds,
    ceiling: ceilingOf(scenario.limits, stack.sim.chargeTokens, windowSeconds),
    sim,
    workerOutcomes: sumBy(metrics, 'sluice_upstream_calls_total', 'outcome'),
  };
}

async function runLoad(scenario: LoadScenario, stack: Stack, started: number): Promise<LoadRow> {
  const shape = ceilingOf(scenario.limits, stack.sim.chargeTokens, 0);
  const requests = Math.round(shape.burst + shape.perSecond * scenario.idealSeconds);
  const perSecond = shape.perSecond * scenario.multiple;
  const arrivalSeconds = requests / perSecond;
  const tenants = scenario.client === 'sluice' ? await createTenants(stack, TENANTS_PER_TIER) : undefined;
  const sdk = scenario.client === 'baseline' ? baselineClient(stack.sim.baseURL) : undefined;
  const used: Record<Tier, number> = { enterprise: 0, pro: 0, free: 0 };
  const tierOf = (i: number): Tier => TIER_PATTERN[i % TIER_PATTERN.length] ?? 'free';

  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // every in-flight request listens to it
  log(
    `${scenario.name}: ${requests} requests at ${perSecond.toFixed(1)}/s (${scenario.multiple}x the ` +
      `sustainable ${shape.perSecond.toFixed(2)}/s, burst ${shape.burst.toFixed(0)}) over ${arrivalSeconds.toFixed(1)} s`,
  );
  await stack.sim.reset();
  const t0 = performance.now();
  const deadline = t0 + (Math.max(arrivalSeconds, scenario.idealSeconds) * 2 + 30) * 1000;
  const deadlineTimer = setTimeout(() => abort.abort(), deadline - t0 + 5_000);
  const progress = setInterval(() => void reportProgress(stack, scenario.name, t0), 10_000);
  let outcomes: Outcome[];
  try {
    const pending = await openLoop(requests, perSecond, (i) => {
      const tier = tierOf(i);
      if (sdk) return baselineRequest(sdk, tier, abort.signal);
      const list = tenants?.[tier] ?? [];
      const tenant = list[used[tier]++ % list.length];
      if (!tenant || !stack.apiUrl) throw new Error('no tenant or API');
      return sluiceRequest(stack.apiUrl, tenant, deadline, abort.signal);
    });
    outcomes = await Promise.all(pending);
  } finally {
    clearTimeout(deadlineTimer);
    clearInterval(progress);
    abort.abort();
  }
  const tEnd = windowEnd(outcomes, deadline);
  const upstream = await upstreamResult(stack, scenario, t0, tEnd);
  const latency = {} as Record<Tier, Summary>;
  for (const tier of TIERS) {
    latency[tier] = summarize(
      outcomes.filter((o) => o.tier === tier && o.doneMs !== undefined).map((o) => o.doneMs ?? 0),
    );
  }
  return {
    kind: 'load',
    scenario,
    offered: { requests, perSecond, seconds: arrivalSeconds },
    counts: countOutcomes(outcomes),
    latency,
    ack: summarize(outcomes.flatMap((o) => (o.ackMs === undefined ? [] : [o.ackMs]))),
    ...detailsOf(outcomes),
    upstream,
    problems: [],
    wallSeconds: (performance.now() - started) / 1000,
  };
}

async function runPriority(scenario: PriorityScenario, stack: Stack, started: number): Promise<PriorityRow> {
  const apiUrl = stack.apiUrl;
  if (!apiUrl) throw new Error('runPriority: no API');
  const tenants = await createTenants(stack, { enterprise: 1, pro: 0, free: 4 });
  const enterprise = tenants.enterprise[0];
  if (!enterprise) throw new Error('runPriority: no enterprise tenant');
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // every in-flight request listens to it
  await stack.sim.reset();
  const t0 = performance.now();
  const progress = setInterval(() => void reportProgress(stack, scenario.name, t0), 10_000);
  let accepted = 0;
  const rejected: Record<string, number> = {};
  let highOutcomes: Outcome[] = [];
  let tEnd = t0;
  let submitSeconds = 0;
  try {
    log(
      `${scenario.name}: submitting ${scenario.backlog} free-tier requests (${scenario.submitConcurrency} at a time)`,
    );
    // A stalled API must not stall the benchmark: whatever is not submitted by then counts as 'aborted'.
    const submitLimitMs = Math.max(60_000, scenario.backlog * 20);
    const submitting = AbortSignal.any([abort.signal, AbortSignal.timeout(submitLimitMs)]);
    setMaxListeners(0, submitting);
    await pool(scenario.backlog, scenario.submitConcurrency, async (i) => {
      const tenant = tenants.free[i % tenants.free.length];
      if (!tenant) return;
      const result = await submit(apiUrl, tenant, submitting);
      if ('id' in result) accepted++;
      else tally(rejected, result.code);
    });
    submitSeconds = (performance.now() - t0) / 1000;
    const count = Math.floor((scenario.highSeconds * 1000) / scenario.highEveryMs);
    log(
      `${scenario.name}: backlog accepted in ${submitSeconds.toFixed(1)} s; now ${count} enterprise requests, ` +
        `one every ${scenario.highEveryMs} ms`,
    );
    const deadline = performance.now() + scenario.highSeconds * 1000 + 60_000;
    const pending = await openLoop(count, 1000 / scenario.highEveryMs, () =>
      sluiceRequest(apiUrl, enterprise, deadline, abort.signal),
    );
    highOutcomes = await Promise.all(pending);
    tEnd = windowEnd(highOutcomes, deadline);
  } finally {
    clearInterval(progress);
    abort.abort();
  }

  const upstream = await upstreamResult(stack, scenario, t0, tEnd);
  const finished = sumBy(await stack.workerMetrics(), 'sluice_requests_finished_total', 'status');
  const high = countOutcomes(highOutcomes);
  const served = Math.max(0, (finished.completed ?? 0) - high.completed);
  const failed = Math.max(0, (finished.failed ?? 0) - high.failed);
  return {
    kind: 'priority',
    scenario,
    backlog: {
      accepted,
      rejected,
      submitSeconds,
      served,
      failed,
      left: Math.max(0, accepted - served - failed),
    },
    high: {
      ...high,
      latency: summarize(highOutcomes.flatMap((o) => (o.doneMs === undefined ? [] : [o.doneMs]))),
      overGoal: highOutcomes.filter(
        (o) => (o.doneMs ?? Number.POSITIVE_INFINITY) > 3 * scenario.limits.latencyMs,
      ).length,
      ...detailsOf(highOutcomes),
    },
    upstream,
    problems: [],
    wallSeconds: (performance.now() - started) / 1000,
  };
}

async function reportProgress(stack: Stack, name: string, t0: number): Promise<void> {
  try {
    const s = await stack.sim.stats();
    log(
      `${name}: +${((performance.now() - t0) / 1000).toFixed(0)} s upstream calls ${s.requests - s.rejected}, ` +
        `ok ${s.completed}, 429 ${s.rateLimited}, in flight ${s.inFlight}`,
    );
  } catch {
    // progress is best effort
  }
}
