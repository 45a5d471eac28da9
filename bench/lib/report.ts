/** Tables, goals and the docs/BENCHMARKS.md section of `pnpm bench:ratelimit` (shared parts: output.ts). */
import { type Limits, MAX_TOKENS, TIERS, WORKER_ENV } from './config.js';
import { asMarkdown, asText, docSection, type RunInfo, type Table } from './output.js';
import type { LoadRow, PriorityRow, Row } from './runner.js';
import { type Summary, upstreamCalls } from './stats.js';

// ---------------------------------------------------------------- formatting

const pct = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(digits)}%`;

/** Milliseconds as seconds, e.g. 0.21 s, 12.4 s. */
function secs(ms: number | undefined): string {
  if (ms === undefined) return 'n/a';
  const s = ms / 1000;
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

const p50p95 = (s: Summary) => (s.n === 0 ? 'n/a' : `${secs(s.p50)} / ${secs(s.p95)}`);
const num = (n: number) => n.toLocaleString('en-US');
const kilo = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

export function limitsText(l: Limits): string {
  const window = l.windowMs === 60_000 ? 'per minute' : `over ${l.windowMs / 1000} s windows`;
  return `${kilo(l.rpm)} RPM + ${kilo(l.tpm)} TPM ${window}, ${l.latencyMs} ms`;
}

function clientText(row: Row): string {
  if (row.scenario.client === 'baseline') return 'openai SDK, maxRetries 2';
  return `Sluice, ${row.scenario.workers} worker${row.scenario.workers === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------- tables

const isLoad = (r: Row): r is LoadRow => r.kind === 'load';
const isPriority = (r: Row): r is PriorityRow => r.kind === 'priority';

const usedShare = (r: LoadRow | PriorityRow) => r.upstream.sim.completed / r.upstream.ceiling.requests;
const rateLimitedShare = (r: LoadRow | PriorityRow) =>
  r.upstream.sim.rateLimited / Math.max(1, upstreamCalls(r.upstream.sim));

export function loadTable(rows: Row[]): Table {
  return {
    headers: [
      'Scenario',
      'Upstream limits, latency',
      'Client',
      'Offered',
      'Completed',
      'Failed',
      'Open',
      'Upstream calls',
      '429 share',
      'Ceiling',
      'Used',
    ],
    right: [4, 5, 6, 7, 8, 9, 10],
    rows: rows
      .filter(isLoad)
      .map((r) => [
        r.scenario.name,
        limitsText(r.scenario.limits),
        clientText(r),
        `${num(r.offered.requests)} in ${r.offered.seconds.toFixed(1)} s (${r.scenario.multiple}x)`,
        num(r.counts.completed),
        num(r.counts.failed),
        num(r.counts.open),
        num(upstreamCalls(r.upstream.sim)),
        pct(rateLimitedShare(r)),
        `${num(r.upstream.ceiling.requests)} in ${r.upstream.windowSeconds.toFixed(1)} s`,
        pct(usedShare(r)),
      ]),
  };
}

export function latencyTable(rows: Row[]): Table {
  return {
    headers: [
      'Scenario',
      'Client',
      ...TIERS.map((t) => `${t} p50 / p95 s`),
      'Submit→202 p95 s',
      'Attempts per request',
    ],
    right: [2, 3, 4, 5, 6],
    rows: rows
      .filter(isLoad)
      .map((r) => [
        r.scenario.name,
        clientText(r),
        ...TIERS.map((t) => p50p95(r.latency[t])),
        r.ack.n ? secs(r.ack.p95) : 'n/a',
        r.attemptsMean === undefined ? 'n/a' : r.attemptsMean.toFixed(2),
      ]),
  };
}

const highGoalMs = (r: PriorityRow) => 3 * r.scenario.limits.latencyMs;

export function priorityTable(rows: Row[]): Table {
  return {
    headers: [
      'Scenario',
      'Upstream limits, latency',
      'Client',
      'Backlog accepted',
      'High-tier sent / ok / failed / open',
      'High-tier p50 / p95 s',
      'p95 ÷ latency',
      'High-tier attempts',
      'Backlog served / left',
      '429 share',
      'Used',
    ],
    right: [5, 6, 7, 9, 10],
    rows: rows.filter(isPriority).map((r) => {
      const b = r.backlog;
      const h = r.high;
      return [
        r.scenario.name,
        limitsText(r.scenario.limits),
        clientText(r),
        `${num(b.accepted)} in ${b.submitSeconds.toFixed(1)} s (${num(Math.round(b.accepted / Math.max(0.001, b.submitSeconds)))}/s)`,
        `${h.sent} / ${h.completed} / ${h.failed} / ${h.open}`,
        p50p95(h.latency),
        h.latency.p95 === undefined ? 'n/a' : `${(h.latency.p95 / r.scenario.limits.latencyMs).toFixed(1)}x`,
        h.attemptsMean === undefined ? 'n/a' : h.attemptsMean.toFixed(2),
        `${num(b.served)} / ${num(b.left)}${b.failed ? ` (+${num(b.failed)} failed)` : ''}`,
        pct(rateLimitedShare(r)),
        pct(usedShare(r)),
      ];
    }),
  };
}

// ---------------------------------------------------------------- goals

interface Check {
  pass: boolean;
  detail: string;
}

interface Goal {
  goal: string;
  oneWorker: Check | undefined;
  threeWorkers: Check | undefined;
}

function combine(checks: { name: string; pass: boolean; value: string }[]): Check | undefined {
  if (checks.length === 0) return undefined;
  return {
    pass: checks.every((c) => c.pass),
    detail: checks.map((c) => `${c.name} ${c.value}`).join(', '),
  };
}

export function goals(rows: Row[]): Goal[] {
  const sluice = (workers: number) =>
    rows.filter(
      (r): r is LoadRow | PriorityRow =>
        r.kind !== 'error' && r.scenario.client === 'sluice' && r.scenario.workers === workers,
    );
  const per = (make: (workers: number) => Check | undefined) => ({
    oneWorker: make(1),
    threeWorkers: make(3),
  });
  return [
    {
      goal: 'Nothing fails',
      ...per((w) =>
        combine(
          sluice(w).map((r) => {
            const bad =
              r.kind === 'load'
                ? r.counts.failed + r.counts.open
                : r.high.failed + r.high.open + r.backlog.failed;
            return { name: r.scenario.name, pass: bad === 0, value: `${bad} failed or open` };
          }),
        ),
      ),
    },
    {
      goal: '≥ 95% of the ceiling used',
      ...per((w) =>
        combine(
          sluice(w)
            .filter(isLoad)
            .map((r) => ({ name: r.scenario.name, pass: usedShare(r) >= 0.95, value: pct(usedShare(r)) })),
        ),
      ),
    },
    {
      goal: '≤ 1% of upstream calls answered 429',
      ...per((w) =>
        combine(
          sluice(w).map((r) => ({
            name: r.scenario.name,
            pass: rateLimitedShare(r) <= 0.01,
            value: pct(rateLimitedShare(r), 2),
          })),
        ),
      ),
    },
    {
      goal: 'High-tier p95 ≤ 3x upstream latency',
      ...per((w) =>
        combine(
          sluice(w)
            .filter(isPriority)
            .map((r) => ({
              name: r.scenario.name,
              pass:
                r.high.latency.p95 !== undefined && r.high.open === 0 && r.high.latency.p95 <= highGoalMs(r),
              value: `${secs(r.high.latency.p95)} s vs ${secs(highGoalMs(r))} s`,
            })),
        ),
      ),
    },
  ];
}

export function goalsTable(rows: Row[]): Table {
  const cell = (c: Check | undefined) => (c ? `${c.pass ? 'PASS' : 'FAIL'} (${c.detail})` : 'not run');
  return {
    headers: ['Goal', 'Sluice, 1 worker', 'Sluice, 3 workers'],
    rows: goals(rows).map((g) => [g.goal, cell(g.oneWorker), cell(g.threeWorkers)]),
  };
}

/** Failures, stuck requests, crashed processes, odd upstream outcomes: one line each. */
export function findings(rows: Row[]): string[] {
  const out: string[] = [];
  const codes = (f: Record<string, number>) =>
    Object.entries(f)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ×${num(n)}`)
      .join(', ');
  for (const r of rows) {
    const name = r.scenario.name;
    if (r.kind === 'error') {
      out.push(`${name}: did not run: ${r.message}`);
      continue;
    }
    const failures = r.kind === 'load' ? r.failures : r.high.failures;
    if (Object.keys(failures).length) out.push(`${name}: failures: ${codes(failures)}`);
    const stuck = r.kind === 'load' ? r.stuck : r.high.stuck;
    if (stuck.length) {
      out.push(
        `${name}: ${stuck.length} not terminal when measuring stopped, e.g. ${stuck.slice(0, 3).join('; ')}`,
      );
    }
    if (r.kind === 'priority' && r.high.overGoal > 0) {
      out.push(
        `${name}: ${r.high.overGoal} of ${r.high.sent} high-tier requests took longer than 3x the upstream ` +
          `latency (${secs(highGoalMs(r))} s); the slowest took ${secs(r.high.latency.max)} s`,
      );
    }
    if (r.kind === 'priority') {
      if (Object.keys(r.backlog.rejected).length)
        out.push(`${name}: backlog submissions refused: ${codes(r.backlog.rejected)}`);
      if (r.backlog.left === 0) {
        out.push(
          `${name}: the backlog ran out before measuring stopped, so its Used share understates the upstream's load`,
        );
      }
    }
    const odd = Object.entries(r.upstream.workerOutcomes).filter(
      ([k, v]) => v > 0 && k !== 'ok' && k !== 'rate_limited',
    );
    if (odd.length)
      out.push(`${name}: worker upstream outcomes besides ok/429: ${codes(Object.fromEntries(odd))}`);
    const sim = r.upstream.sim;
    const other = upstreamCalls(sim) - sim.completed - sim.rateLimited - sim.inFlight;
    if (other > 0)
      out.push(
        `${name}: ${other} upstream calls neither completed nor 429 (aborted ${sim.aborted}, errors ${sim.errors})`,
      );
    for (const p of r.problems) out.push(`${name}: ${p}`);
  }
  return out;
}

// ---------------------------------------------------------------- output

export function textReport(rows: Row[], info: RunInfo): string {
  const parts = [...asText.info(info), ''];
  if (rows.some(isLoad)) {
    parts.push(...asText.table('Offered load, outcomes and the upstream', loadTable(rows)));
    parts.push(
      ...asText.table('Time to completion (send → outcome known to the client)', latencyTable(rows)),
    );
  }
  if (rows.some(isPriority)) parts.push(...asText.table('High tier under backlog', priorityTable(rows)));
  parts.push(...asText.table('Goals', goalsTable(rows)));
  const notes = findings(rows);
  if (notes.length) parts.push(...asText.list('Findings', notes));
  return parts.join('\n');
}

function method(rows: Row[]): string {
  const charge = rows.find((r): r is LoadRow | PriorityRow => r.kind !== 'error')?.upstream.chargeTokens;
  return `## Rate limits: \`pnpm bench:ratelimit\`

The goal being measured: a burst of traffic must turn into a steady stream that uses the upstream's
rate limit to the full without tripping it, across any number of worker replicas, while high-tier
requests overtake the backlog.

### Method

Every scenario starts its own processes and throws them away afterwards: a fresh \`redis-server\`
(\`startRedis()\` from \`@sluice/testkit\`), the upstream simulator (\`apps/upstream-sim\`) with the
scenario's \`SIM_RPM\`, \`SIM_TPM\`, \`SIM_WINDOW_MS\` and \`SIM_LATENCY_MS\`, the API and N workers, each a
child process (\`node --import tsx apps/<app>/src/main.ts\`) on 127.0.0.1. Worker settings are in
\`bench/lib/config.ts\` (\`WORKER_ENV\`: \`WORKER_CONCURRENCY=${WORKER_ENV.WORKER_CONCURRENCY}\`, retry settings at their
defaults). Tenants are created through the admin API.

- **Requests.** All requests carry the same prompt and \`max_tokens: ${MAX_TOKENS}\`, so the simulator charges each
  exactly prompt tokens + ${MAX_TOKENS} = ${charge ?? 'n/a'} tokens (the prompt's size is read from one probe call, after
  which the simulator is reset so every bucket starts full).
- **Load scenarios** (\`minute-*\`: limits enforced per minute, so a whole minute's budget is available as
  a burst; \`second-*\`: the same limits enforced over 1 s windows, bursts of 1/60 of that). The offered
  load is the burst capacity plus \`idealSeconds\` (40 s) of sustained budget, arriving evenly (open
  loop) at a multiple of the sustainable rate (10x for \`minute-*\`, so that arrivals outrun the
  minute's burst, 5x for \`second-*\`) from 6 tenants: per 10 requests 2 enterprise (priority high),
  3 pro and 5 free. A perfectly paced client would finish after about \`idealSeconds\` and use
  almost 100% of the ceiling (the last request's own latency is inside the window).
- **Baseline** (\`*-baseline\`): the same requests on the same schedule, sent by a tutorial-style client
  straight to the simulator: one \`new OpenAI({ baseURL, apiKey })\` with its defaults (\`maxRetries: 2\`,
  the SDK's own backoff honouring \`retry-after-ms\`). It uses the same upstream key as Sluice's workers.
- **Sluice** (\`*-1w\`, \`*-3w\`): each request is \`POST /v1/requests\` (202), then
  \`GET /v1/requests/{id}?wait=25\` until it is terminal. Times are taken by the client with
  \`performance.now()\` (the record's timestamps are whole seconds).
- **High tier under backlog** (\`priority-*\`): free-tier requests (4 tenants) are submitted as fast as the
  API accepts them (64 at a time, keep-alive), then one enterprise request with priority high is sent every
  200 ms for 30 s and long-polled. Measuring stops when the last high-tier request is terminal; the rest of
  the backlog is **not** drained (the processes and the Redis are discarded), so "Backlog served / left"
  says how far it got. The limits are higher here (see the table) so that the upstream, not this 2-core
  machine, is the bottleneck.
- Hard stop: a load scenario stops measuring at 2 × max(arrival time, \`idealSeconds\`) + 30 s; a
  high-tier request at 60 s after the last one was sent; building the backlog stops after
  max(60 s, 20 ms per request). Requests still unfinished then are counted as **Open**. \`--quick\` shrinks the runs (\`idealSeconds\` 12 instead of 40, a backlog of 2,000 and
  10 s of high-tier traffic) and skips \`minute-3w\` and \`priority-3w\`; \`--scale X\` multiplies the sizes.

### Columns

- **Offered**: requests sent, over how long, and the arrival rate as a multiple of the sustainable rate.
- **Completed / Failed / Open**: outcomes as the client saw them (a Sluice request that failed to be
  accepted counts as failed). Open = not terminal when measuring stopped.
- **Upstream calls, 429 share**: from the simulator's \`/_sim/stats\` (exact): every chat-completions call
  that reached it, and the share answered 429.
- **Ceiling**: the most requests the upstream's limits allow in the measured window (first request
  sent → last outcome known, or the hard stop): min(RPM/60 × seconds + request bucket capacity,
  (TPM/60 × seconds + token bucket capacity) ÷ tokens per request), where a bucket holds
  limit × \`SIM_WINDOW_MS\`/60000. Both buckets start full.
- **Used**: upstream calls answered 200 ÷ ceiling. A client that finishes the same work later has a
  longer window and a lower share.
- **p50 / p95**: time from sending a request until its outcome (completed or failed) is known to the
  client, per tier; for the baseline the tier is only a label (the SDK has no priorities).
  **Submit→202** is Sluice's acknowledgement time. **Attempts per request**: upstream attempts recorded
  on Sluice's terminal records.
- **p95 ÷ latency**: the high-tier p95 over the simulator's \`SIM_LATENCY_MS\`; the goal is ≤ 3x.
  **High-tier attempts**: mean upstream attempts per high-tier request (above 1 means some hit a 429).
- **Backlog served / left**: backlog requests finished by the workers before measuring stopped (worker
  \`/metrics\`, minus the high-tier ones) and still waiting.

Goals: nothing fails; ≥ 95% of the ceiling used; ≤ 1% of upstream calls answered 429; the same with 3
workers; high-tier p95 within 3x the upstream latency. The baseline rows are for comparison only.
Every process of the system under test, the simulator and the load generator share this machine's
cores, so absolute times are pessimistic; the shares and counts are not affected by that.
`;
}

export function markdownSection(rows: Row[], info: RunInfo): string {
  const notes = findings(rows);
  const body: string[] = [];
  if (rows.some(isLoad)) {
    body.push(...asMarkdown.table('Offered load, outcomes and the upstream', loadTable(rows)));
    body.push(...asMarkdown.table('Time to completion', latencyTable(rows)));
  }
  if (rows.some(isPriority)) body.push(...asMarkdown.table('High tier under backlog', priorityTable(rows)));
  body.push(...asMarkdown.table('Goals', goalsTable(rows)));
  if (notes.length) body.push(...asMarkdown.list('Findings', notes));
  return docSection('ratelimit', method(rows), asMarkdown.info(info), body);
}
