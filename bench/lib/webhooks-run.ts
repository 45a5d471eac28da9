/**
 * One `pnpm bench:webhooks` scenario: fresh processes, one tenant with N endpoints on the benchmark's
 * receiver, M requests submitted as fast as a bounded pool allows, then every delivery awaited (up to a
 * hard time limit) and matched against what was owed: M × N, each signed, each once.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { pool, sluiceRequest, submit } from './clients.js';
import type { Tenant } from './stack.js';
import { type Sample, type Summary, sumBy, summarize, tally } from './stats.js';
import { ratePerSecond } from './webhooks-baseline.js';
import type { Receipt, WebhookReceiver } from './webhooks-receiver.js';
import { startWebhookStack, type WebhookStack } from './webhooks-stack.js';

export interface ScenarioSpec {
  name: string;
  endpoints: number;
  requests: number;
  submitConcurrency: number;
  /** The simulator's latency, ms. */
  latencyMs: number;
  /** Requests completed (and long-polled) before the endpoints exist, to warm the processes up. */
  warmup: number;
  /** Submitting stops after this long, ms. */
  submitTimeLimitMs: number;
  /** Waiting for deliveries stops this long after the last submit, ms. */
  deliverTimeLimitMs: number;
}

export interface ScenarioRow {
  kind: 'ok';
  spec: ScenarioSpec;
  submit: { sent: number; accepted: number; rejected: Record<string, number>; seconds: number };
  /** Request outcomes as the deliveries told them (status → requests). */
  outcomes: Record<string, number>;
  /** Requests finished according to the worker's metrics, warm-up excluded (status → requests). */
  finishedByWorker: Record<string, number>;
  /** Completed requests per second, first → last completion (the payload's `timestamp`, ms). */
  completedPerSecond?: number;
  deliveries: {
    expected: number;
    /** Distinct (endpoint, request) pairs delivered with a valid signature. */
    delivered: number;
    /** Every request the endpoints' paths got, duplicates and invalid ones included. */
    received: number;
    /** Distinct deliveries per second, first → last delivery. */
    perSecond?: number;
    /** First submit → last delivery, s. */
    totalSeconds?: number;
    /**
     * Distinct deliveries per second while requests were still completing (first delivery → last
     * completion) and after the last completion (→ last delivery); undefined for a phase under 0.5 s.
     */
    whileCompleting?: number;
    afterCompleting?: number;
  };
  latency: {
    submitToCompleted: Summary;
    completedToDelivered: Summary;
    submitToDelivered: Summary;
  };
  /** Deliveries of a webhook-id the same path had already received. */
  duplicates: number;
  invalid: number;
  missing: number;
  /** Verified deliveries that were not owed, by why: unknown request, other event, a second event per request. */
  unexpected: Record<string, number>;
  /** One example per reason, where it helps. */
  unexpectedExamples: Record<string, string>;
  /** The 100 most recent deliveries per endpoint as Sluice's delivery log shows them (status → count). */
  deliveryLog: Record<string, number>;
  /**
   * CPU used from the first submit until the last owed delivery arrived (or the time limit), in % of one
   * core, per process: worker, api, redis, simulator, and bench (this process: client and receiver).
   */
  cpu: Record<string, number>;
  /** The worker's CPU in % of one core in the same two phases as the delivery rates. */
  workerCpu: { whileCompleting?: number; afterCompleting?: number };
  /** The worker's event-loop delay over the same window (prom-client's monitorEventLoopDelay), ms. */
  eventLoop: { p50?: number; p99?: number; max?: number };
  /** Each attempt's POST time as Sluice recorded it (the deliveries in \`deliveryLog\`), ms. */
  postLatency: Summary;
  /** Waiting for deliveries hit the time limit. */
  timedOut: boolean;
  problems: string[];
  wallSeconds: number;
}

export interface ScenarioError {
  kind: 'error';
  spec: ScenarioSpec;
  message: string;
}

export type ScenarioResult = ScenarioRow | ScenarioError;

/** The unexpected deliveries that are Sluice's dispatch-time fan-out rather than a wrong delivery. */
export const EARLY_EVENT = 'a request that finished before the endpoints were registered (warm-up)';

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
/** After the last owed delivery, how long to keep listening for duplicates. */
const QUIET_MS = 2_000;
const PROGRESS_MS = 5_000;
const WARMUP_SETTLE_MS = 1_000;
const CPU_SAMPLE_MS = 250;
/** A phase shorter than this gets no rate of its own, ms. */
const MIN_PHASE_MS = 500;

/** Deliveries per second among `walls` (ms) that fall in [from, to]; undefined for a short phase. */
function phaseRate(walls: readonly number[], from: number, to: number): number | undefined {
  if (!(to - from >= MIN_PHASE_MS)) return undefined;
  const n = walls.filter((w) => w >= from && w <= to).length;
  return (n * 1000) / (to - from);
}

/** CPU % of one core between the samples around [from, to]; undefined for a short phase. */
function phaseCpu(samples: readonly { wall: number; cpu: number }[], from: number, to: number) {
  if (!(to - from >= MIN_PHASE_MS)) return undefined;
  const start = samples.filter((x) => x.wall <= from).at(-1) ?? samples[0];
  const end = samples.find((x) => x.wall >= to) ?? samples.at(-1);
  if (!start || !end || end.wall <= start.wall) return undefined;
  return ((end.cpu - start.cpu) / ((end.wall - start.wall) / 1000)) * 100;
}
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU seconds a process has used so far, from /proc (undefined where there is none). */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

function cpuSnapshot(pids: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const s = cpuSeconds(pid);
    if (s !== undefined) out[name] = s;
  }
  const own = process.cpuUsage();
  out.bench = (own.user + own.system) / 1e6;
  return out;
}

/** The worker's event-loop delay percentiles from its /metrics, in ms. */
function eventLoopDelay(samples: readonly Sample[]): ScenarioRow['eventLoop'] {
  const get = (suffix: string) => {
    const v = samples.find((x) => x.name === `sluice_worker_nodejs_eventloop_lag_${suffix}_seconds`)?.value;
    return v === undefined || !Number.isFinite(v) ? undefined : v * 1000;
  };
  return { p50: get('p50'), p99: get('p99'), max: get('max') };
}

/** % of one core each process used between two snapshots `seconds` apart. */
function cpuShare(before: Record<string, number>, after: Record<string, number>, seconds: number) {
  const out: Record<string, number> = {};
  for (const [name, end] of Object.entries(after)) {
    const start = before[name];
    if (start !== undefined && seconds > 0) out[name] = ((end - start) / seconds) * 100;
  }
  return out;
}

interface Endpoint {
  id: string;
  path: string;
}

async function registerEndpoints(
  stack: WebhookStack,
  tenant: Tenant,
  receiver: WebhookReceiver,
  spec: ScenarioSpec,
): Promise<Endpoint[]> {
  const endpoints: Endpoint[] = [];
  for (let i = 1; i <= spec.endpoints; i++) {
    const path = `/${spec.name}/endpoint-${i}`;
    const res = await fetch(`${stack.apiUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: receiver.url(path) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status !== 201)
      throw new Error(`POST /v1/webhooks answered ${res.status}: ${text.slice(0, 300)}`);
    const created = JSON.parse(text) as { id: string; secret: string };
    receiver.expect(path, created.secret);
    endpoints.push({ id: created.id, path });
  }
  return endpoints;
}

/**
 * Sluice's own delivery log: the most recent 100 deliveries of each endpoint, by status and attempts,
 * and the POST time of each attempt it recorded.
 */
async function deliveryLog(
  stack: WebhookStack,
  tenant: Tenant,
  endpoints: readonly Endpoint[],
): Promise<{ statuses: Record<string, number>; postMs: number[] }> {
  const statuses: Record<string, number> = {};
  const postMs: number[] = [];
  for (const e of endpoints) {
    try {
      const res = await fetch(`${stack.apiUrl}/v1/webhooks/${e.id}/deliveries?limit=100`, {
        headers: { Authorization: `Bearer ${tenant.key}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) {
        tally(statuses, `log unavailable (HTTP ${res.status})`);
        continue;
      }
      const body = (await res.json()) as {
        data: {
          status: string;
          attempts: number;
          error: string | null;
          attempt_log: { latency_ms: number }[];
        }[];
      };
      for (const d of body.data) {
        const attempts = d.attempts === 1 ? '' : ` after ${d.attempts} attempts`;
        tally(statuses, `${d.status}${attempts}${d.error ? ` (${d.error.slice(0, 80)})` : ''}`);
        for (const a of d.attempt_log) postMs.push(a.latency_ms);
      }
    } catch (err) {
      tally(statuses, `log unavailable (${(err as Error).name})`);
    }
  }
  return { statuses, postMs };
}

export async function runScenario(spec: ScenarioSpec, receiver: WebhookReceiver): Promise<ScenarioResult> {
  const started = performance.now();
  let stack: WebhookStack | undefined;
  try {
    log(`${spec.name}: starting redis, simulator (no limits, ${spec.latencyMs} ms), API, 1 worker`);
    stack = await startWebhookStack(spec.latencyMs);
    const row = await measure(spec, stack, receiver, started);
    row.problems.push(...stack.problems());
    return row;
  } catch (err) {
    log(`${spec.name}: ERROR ${(err as Error).stack ?? String(err)}`);
    const problems = stack?.problems() ?? [];
    const message = (err as Error).message.split('\n')[0] ?? String(err);
    return { kind: 'error', spec, message: [message, ...problems].join('; ') };
  } finally {
    await stack?.stop().catch((err) => log(`${spec.name}: stop failed: ${String(err)}`));
    log(`${spec.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

async function measure(
  spec: ScenarioSpec,
  stack: WebhookStack,
  receiver: WebhookReceiver,
  started: number,
): Promise<ScenarioRow> {
  const tenant = await stack.createTenant('webhooks-bench', 'enterprise');
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);

  // Warm-up before any endpoint exists: the completion path gets compiled and the rate controller
  // (no limits known, additive increase) gets going, and no delivery is owed for these requests.
  const warmDeadline = performance.now() + 30_000;
  const warm = await pool(spec.warmup, 10, () =>
    sluiceRequest(stack.apiUrl, tenant, warmDeadline, abort.signal),
  );
  const warmCompleted = warm.filter((o) => o.status === 'completed').length;
  if (warmCompleted < spec.warmup)
    log(`${spec.name}: only ${warmCompleted}/${spec.warmup} warm-up requests completed`);

  // Sluice fans an event out to the endpoints that exist when its dispatch job runs, not when the request
  // finished: give the warm-up's dispatch jobs a moment, so that the endpoints are not sent warm-up events.
  await delay(WARMUP_SETTLE_MS);
  const registeredAt = Date.now();
  const endpoints = await registerEndpoints(stack, tenant, receiver, spec);
  const paths = new Set(endpoints.map((e) => e.path));
  const mine = () => receiver.receipts.filter((r) => paths.has(r.path));
  log(
    `${spec.name}: ${endpoints.length} endpoint(s) registered; submitting ${spec.requests} requests ` +
      `(${spec.submitConcurrency} at a time)`,
  );

  // Submit as fast as the pool allows; each request's send time (wall clock, ms) by id.
  const sentAt = new Map<string, number>();
  const rejected: Record<string, number> = {};
  let sent = 0;
  // This scrape also resets the worker's event-loop delay histogram (prom-client does on every collect).
  const finishedBefore = sumBy(await stack.workerMetrics(), 'sluice_requests_finished_total', 'status');
  const cpuBefore = cpuSnapshot(stack.pids);
  // The worker's CPU over time, to split it into phases afterwards.
  const workerSamples: { wall: number; cpu: number }[] = [];
  const sampleWorker = () => {
    const cpu = cpuSeconds(stack.pids.worker ?? -1);
    if (cpu !== undefined) workerSamples.push({ wall: Date.now(), cpu });
  };
  sampleWorker();
  const sampler = setInterval(sampleWorker, CPU_SAMPLE_MS);
  const t0 = performance.now();
  const t0Wall = Date.now();
  let cpu: Record<string, number> = {};
  let eventLoop: ScenarioRow['eventLoop'] = {};
  const submitDeadline = t0 + spec.submitTimeLimitMs;
  const submitTimer = setTimeout(() => abort.abort(), spec.submitTimeLimitMs);
  const expectedNow = () => sentAt.size * endpoints.length;
  // Distinct (path, webhook-id) pairs so far, counted incrementally: the receiver shares this process.
  const distinctSeen = new Set<string>();
  let cursor = 0;
  const distinct = () => {
    const all = receiver.receipts;
    for (; cursor < all.length; cursor++) {
      const r = all[cursor];
      const late = r?.eventAt === undefined || r.eventAt >= registeredAt; // not a warm-up event
      if (r?.valid && late && paths.has(r.path)) distinctSeen.add(`${r.path}\n${r.webhookId}`);
    }
    return distinctSeen.size;
  };
  const progress = setInterval(() => {
    log(
      `${spec.name}: +${((performance.now() - t0) / 1000).toFixed(0)} s accepted ${sentAt.size}/${spec.requests}, ` +
        `deliveries ${distinct()}/${expectedNow()}`,
    );
  }, PROGRESS_MS);
  let timedOut = false;
  let submitSeconds = 0;
  try {
    await pool(spec.requests, spec.submitConcurrency, async () => {
      if (performance.now() >= submitDeadline) {
        tally(rejected, 'not sent (submit time limit)');
        return;
      }
      sent++;
      const at = Date.now();
      const result = await submit(stack.apiUrl, tenant, abort.signal);
      if ('id' in result) sentAt.set(result.id, at);
      else tally(rejected, result.code);
    });
    submitSeconds = (performance.now() - t0) / 1000;
    clearTimeout(submitTimer);

    // Wait for every owed delivery, then a little longer for duplicates; stop at the time limit.
    const deliverDeadline = performance.now() + spec.deliverTimeLimitMs;
    for (;;) {
      const all = distinct() >= expectedNow();
      timedOut = !all && performance.now() >= deliverDeadline;
      if (all || timedOut) {
        cpu = cpuShare(cpuBefore, cpuSnapshot(stack.pids), (performance.now() - t0) / 1000);
        sampleWorker();
        clearInterval(sampler);
        eventLoop = eventLoopDelay(await stack.workerMetrics());
        if (all) await delay(QUIET_MS);
        break;
      }
      await delay(100);
    }
  } finally {
    clearTimeout(submitTimer);
    clearInterval(progress);
    clearInterval(sampler);
    abort.abort();
  }

  // Classify every request the endpoints' paths received.
  let invalid = 0;
  let duplicates = 0;
  const unexpected: Record<string, number> = {};
  const unexpectedExamples: Record<string, string> = {};
  const seen = new Set<string>();
  const owed = new Map<string, Receipt>();
  const received = mine();
  for (const r of received) {
    if (!r.valid) {
      invalid++;
      continue;
    }
    const message = `${r.path}\n${r.webhookId}`;
    if (seen.has(message)) {
      duplicates++;
      continue;
    }
    seen.add(message);
    const pair = `${r.path}\n${r.subjectId}`;
    if (!r.type?.startsWith('request.')) tally(unexpected, `event ${r.type ?? '(none)'}`);
    else if (owed.has(pair)) tally(unexpected, 'a second event for the same request');
    else if (!r.subjectId || !sentAt.has(r.subjectId)) {
      const early = r.eventAt !== undefined && r.eventAt < registeredAt;
      const reason = early ? EARLY_EVENT : 'an unknown request';
      tally(unexpected, reason);
      if (early && r.eventAt !== undefined && !unexpectedExamples[reason]) {
        unexpectedExamples[reason] =
          `${r.subjectId} finished ${registeredAt - r.eventAt} ms before the first endpoint was registered ` +
          `and arrived at ${r.path} ${r.wallAt - registeredAt} ms after`;
      }
    } else {
      owed.set(pair, r);
    }
  }

  const delivered = [...owed.values()];
  // Per request, from its first delivery: its outcome and when it finished (the payload's timestamp).
  const requests = new Map<string, { status: string; eventAt?: number }>();
  for (const r of delivered) {
    const id = r.subjectId ?? '';
    if (!requests.has(id)) requests.set(id, { status: r.status ?? 'unknown', eventAt: r.eventAt });
  }
  const outcomes: Record<string, number> = {};
  const submitToCompleted: number[] = [];
  const completedTimes: number[] = [];
  for (const [id, { status, eventAt }] of requests) {
    tally(outcomes, status);
    if (eventAt === undefined) continue;
    const s = sentAt.get(id);
    if (s !== undefined) submitToCompleted.push(eventAt - s);
    if (status === 'completed') completedTimes.push(eventAt);
  }
  const walls = delivered.map((r) => r.wallAt);
  const firstDelivery = walls.reduce((m, w) => Math.min(m, w), Number.POSITIVE_INFINITY);
  const lastDelivery = walls.reduce((m, w) => Math.max(m, w), Number.NEGATIVE_INFINITY);
  const lastCompletion = [...requests.values()].reduce(
    (m, r) => Math.max(m, r.eventAt ?? Number.NEGATIVE_INFINITY),
    Number.NEGATIVE_INFINITY,
  );

  const finishedAfter = sumBy(await stack.workerMetrics(), 'sluice_requests_finished_total', 'status');
  const finishedByWorker: Record<string, number> = {};
  for (const [status, n] of Object.entries(finishedAfter)) {
    const d = n - (finishedBefore[status] ?? 0);
    if (d > 0) finishedByWorker[status] = d;
  }

  const sluiceLog = await deliveryLog(stack, tenant, endpoints);
  const problems: string[] = [];
  const finished = Object.values(finishedByWorker).reduce((a, b) => a + b, 0);
  if (timedOut || finished < sentAt.size) {
    for (const name of ['worker', 'api'] as const) {
      const lines = stack.output(name, 5);
      if (lines.length) problems.push(`${name}'s last output: ${lines.join(' | ').slice(0, 1_500)}`);
    }
  }

  return {
    kind: 'ok',
    spec,
    submit: { sent, accepted: sentAt.size, rejected, seconds: submitSeconds },
    outcomes,
    finishedByWorker,
    completedPerSecond: ratePerSecond(completedTimes),
    deliveries: {
      expected: sentAt.size * endpoints.length,
      delivered: delivered.length,
      received: received.length,
      perSecond: ratePerSecond(delivered.map((r) => r.at)),
      whileCompleting: phaseRate(walls, firstDelivery, lastCompletion),
      afterCompleting: phaseRate(walls, lastCompletion, lastDelivery),
      totalSeconds: delivered.length ? (lastDelivery - t0Wall) / 1000 : undefined,
    },
    latency: {
      submitToCompleted: summarize(submitToCompleted),
      completedToDelivered: summarize(
        delivered.flatMap((r) => (r.eventAt === undefined ? [] : [r.wallAt - r.eventAt])),
      ),
      submitToDelivered: summarize(
        delivered.flatMap((r) => {
          const s = sentAt.get(r.subjectId ?? '');
          return s === undefined ? [] : [r.wallAt - s];
        }),
      ),
    },
    duplicates,
    invalid,
    missing: sentAt.size * endpoints.length - delivered.length,
    unexpected,
    unexpectedExamples,
    deliveryLog: sluiceLog.statuses,
    postLatency: summarize(sluiceLog.postMs),
    cpu,
    workerCpu: {
      whileCompleting: phaseCpu(workerSamples, t0Wall, lastCompletion),
      afterCompleting: phaseCpu(workerSamples, lastCompletion, lastDelivery),
    },
    eventLoop,
    timedOut,
    problems,
    wallSeconds: (performance.now() - started) / 1000,
  };
}
