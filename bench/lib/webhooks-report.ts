/** Tables, findings and the docs/BENCHMARKS.md section of `pnpm bench:webhooks`. */
import os from 'node:os';
import { asMarkdown, asText, docSection, type RunInfo, type Table } from './output.js';
import type { Summary } from './stats.js';
import type { BaselineRow } from './webhooks-baseline.js';
import { EARLY_EVENT, type ScenarioResult, type ScenarioRow } from './webhooks-run.js';
import { DEFAULT_WEBHOOK_CONCURRENCY } from './webhooks-stack.js';

export interface WebhooksRun {
  info: RunInfo & { loadAfter: string };
  scenarios: ScenarioResult[];
  /** Raw HTTP ceiling: one connection per POST, and keep-alive. */
  baselines: BaselineRow[];
  settings: {
    requests: number;
    submitConcurrency: number;
    latencyMs: number;
    warmup: number;
    /** Requests per scenario of a default run and of `--quick`. */
    defaultRequests: number;
    quickRequests: number;
    /** Whole-run time limits, s. */
    runLimitSeconds: number;
    quickRunLimitSeconds: number;
  };
}

// ---------------------------------------------------------------- formatting

const num = (n: number) => n.toLocaleString('en-US');
const rate = (x: number | undefined) => (x === undefined ? 'n/a' : num(Math.round(x)));
const ms = (x: number | undefined) => (x === undefined ? 'n/a' : num(Math.round(x)));
const p50p95 = (s: Summary) => (s.n === 0 ? 'n/a' : `${ms(s.p50)} / ${ms(s.p95)}`);
const share = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b <= 0 ? 'n/a' : `${((a / b) * 100).toFixed(0)}%`;
const codes = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ×${num(n)}`)
    .join(', ');

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const ok = (r: ScenarioResult): r is ScenarioRow => r.kind === 'ok';
/** The scenario's ceiling: the baseline run right after it. */
const ceiling = (run: WebhooksRun, scenario: string, keepAlive: boolean) =>
  run.baselines.find((b) => b.after === scenario && b.keepAlive === keepAlive && !b.error)?.perSecond;

// ---------------------------------------------------------------- tables

export function throughputTable(run: WebhooksRun): Table {
  return {
    headers: [
      'Scenario',
      'Endpoints',
      'Requests accepted',
      'Completed',
      'Completed/s',
      'Deliveries got / owed',
      'Deliveries/s',
      '…/s while completing / after',
      'vs ceiling, new conn',
      'vs ceiling, keep-alive',
      'Submit → last delivery',
    ],
    right: [1, 3, 4, 5, 6, 7, 8, 9, 10],
    rows: run.scenarios.map((r) => {
      if (!ok(r)) return [r.spec.name, String(r.spec.endpoints), `did not run: ${r.message.slice(0, 80)}`];
      return [
        r.spec.name,
        String(r.spec.endpoints),
        `${num(r.submit.accepted)} in ${r.submit.seconds.toFixed(1)} s (${rate(r.submit.accepted / Math.max(0.001, r.submit.seconds))}/s)`,
        num(r.outcomes.completed ?? 0),
        rate(r.completedPerSecond),
        `${num(r.deliveries.delivered)} / ${num(r.deliveries.expected)}`,
        rate(r.deliveries.perSecond),
        `${rate(r.deliveries.whileCompleting)} / ${rate(r.deliveries.afterCompleting)}`,
        share(r.deliveries.perSecond, ceiling(run, r.spec.name, false)),
        share(r.deliveries.perSecond, ceiling(run, r.spec.name, true)),
        r.deliveries.totalSeconds === undefined ? 'n/a' : `${r.deliveries.totalSeconds.toFixed(1)} s`,
      ];
    }),
  };
}

export function latencyTable(run: WebhooksRun): Table {
  return {
    headers: [
      'Scenario',
      'Submit → completed p50 / p95 ms',
      'Completed → delivered p50 / p95 ms',
      'Submit → delivered p50 / p95 ms',
      'Duplicates',
      'Invalid signatures',
      'Missing',
      'Unexpected',
    ],
    right: [1, 2, 3, 4, 5, 6, 7],
    rows: run.scenarios
      .filter(ok)
      .map((r) => [
        r.spec.name,
        p50p95(r.latency.submitToCompleted),
        p50p95(r.latency.completedToDelivered),
        p50p95(r.latency.submitToDelivered),
        num(r.duplicates),
        num(r.invalid),
        num(r.missing),
        num(total(r.unexpected)),
      ]),
  };
}

const CPU_COLUMNS = ['worker', 'api', 'redis', 'simulator', 'bench'] as const;
const percent = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(0)}%`);

export function cpuTable(run: WebhooksRun): Table {
  return {
    headers: [
      'Scenario',
      'Worker',
      'Worker while completing / after',
      'API',
      'Redis',
      'Simulator',
      'Benchmark (client + receiver)',
      'Worker event-loop delay p50 / p99 / max ms',
      'POST time recorded by Sluice p50 / p95 ms',
    ],
    right: [1, 2, 3, 4, 5, 6, 7, 8],
    rows: run.scenarios
      .filter(ok)
      .map((r) => [
        r.spec.name,
        percent(r.cpu.worker),
        `${percent(r.workerCpu.whileCompleting)} / ${percent(r.workerCpu.afterCompleting)}`,
        ...CPU_COLUMNS.slice(1).map((c) => percent(r.cpu[c])),
        `${ms(r.eventLoop.p50)} / ${ms(r.eventLoop.p99)} / ${ms(r.eventLoop.max)}`,
        p50p95(r.postLatency),
      ]),
  };
}

export function baselineTable(run: WebhooksRun): Table {
  return {
    headers: [
      'After scenario',
      'Sender (own process, node:http)',
      'Concurrency',
      'Body bytes',
      'POSTs sent / 200',
      'Received (invalid)',
      'POSTs/s at the receiver',
      'POST p50 / p95 ms',
    ],
    right: [2, 3, 4, 5, 6, 7],
    rows: run.baselines.map((b) => [
      b.after,
      b.keepAlive ? 'keep-alive agent' : 'new connection per POST (as the worker)',
      String(b.concurrency),
      num(b.bodyBytes),
      `${num(b.sent)} / ${num(b.ok)}`,
      `${num(b.received)} (${num(b.invalid)})`,
      b.error ? `error: ${b.error.slice(0, 60)}` : rate(b.perSecond),
      p50p95(b.latency),
    ]),
  };
}

/**
 * Every owed delivery arrived exactly once with a valid signature, and nothing else arrived (an event of
 * a warm-up request that finished just before the endpoints existed is reported, but not counted here).
 */
export const correct = (r: ScenarioRow) =>
  !r.timedOut &&
  r.missing === 0 &&
  r.duplicates === 0 &&
  r.invalid === 0 &&
  total(r.unexpected) === (r.unexpected[EARLY_EVENT] ?? 0);

/** Anything that went wrong or looks odd: one line each. */
export function findings(run: WebhooksRun): string[] {
  const out: string[] = [];
  for (const r of run.scenarios) {
    const name = r.spec.name;
    if (!ok(r)) {
      out.push(`${name}: did not run: ${r.message}`);
      continue;
    }
    out.push(
      correct(r)
        ? `${name}: PASS: every owed delivery (${num(r.deliveries.expected)}) arrived exactly once with a valid signature`
        : `${name}: FAIL: not every owed delivery arrived exactly once with a valid signature: ${num(r.missing)} missing, ` +
            `${num(r.duplicates)} duplicates, ${num(r.invalid)} invalid signatures, ${num(total(r.unexpected))} unexpected`,
    );
    if (total(r.unexpected)) {
      const examples = Object.values(r.unexpectedExamples);
      out.push(
        `${name}: unexpected deliveries: ${codes(r.unexpected)}${examples.length ? `; e.g. ${examples.join('; ')}` : ''}`,
      );
    }
    // Owed deliveries per second while requests complete, against what arrived in that phase.
    const pace = (r.completedPerSecond ?? 0) * r.spec.endpoints;
    const during = r.deliveries.whileCompleting ?? r.deliveries.perSecond;
    if (during !== undefined && pace > 0) {
      const after = r.deliveries.afterCompleting;
      out.push(
        during >= 0.9 * pace
          ? `${name}: deliveries kept pace with completions (${rate(during)}/s for ${rate(pace)}/s owed): ` +
              'the completion rate, not delivery, set the rate'
          : `${name}: deliveries fell behind while requests were completing (${rate(during)}/s for ${rate(pace)}/s ` +
              `owed)${after === undefined ? '' : ` and caught up at ${rate(after)}/s after the last completion`}; ` +
              `completed → delivered p95 ${ms(r.latency.completedToDelivered.p95)} ms`,
      );
    }
    if (r.timedOut)
      out.push(
        `${name}: stopped waiting for deliveries at the time limit (${r.spec.deliverTimeLimitMs / 1000} s after the last submit)`,
      );
    if (Object.keys(r.submit.rejected).length)
      out.push(`${name}: submissions not accepted: ${codes(r.submit.rejected)}`);
    const notCompleted = Object.fromEntries(Object.entries(r.outcomes).filter(([s]) => s !== 'completed'));
    if (Object.keys(notCompleted).length) out.push(`${name}: requests not completed: ${codes(notCompleted)}`);
    const finished = total(r.finishedByWorker);
    if (finished !== r.submit.accepted)
      out.push(
        `${name}: the worker's metrics count ${num(finished)} finished requests (${codes(r.finishedByWorker) || 'none'}) ` +
          `for ${num(r.submit.accepted)} accepted`,
      );
    const oddLog = Object.entries(r.deliveryLog).filter(([k]) => k !== 'succeeded');
    if (oddLog.length)
      out.push(
        `${name}: Sluice's delivery log (100 most recent per endpoint): ${codes(Object.fromEntries(oddLog))}`,
      );
    if (r.deliveries.received !== r.deliveries.delivered)
      out.push(
        `${name}: the endpoints' paths got ${num(r.deliveries.received)} requests for ${num(r.deliveries.delivered)} distinct deliveries`,
      );
    for (const p of r.problems) {
      // A crashed process: its exit, then its last lines of output.
      const [first = '', ...rest] = p.split('\n').filter(Boolean);
      out.push(`${name}: ${[first, ...rest.slice(-5)].join(' | ').slice(0, 1_500)}`);
    }
  }
  for (const b of run.baselines) {
    if (b.error) out.push(`baseline ${b.name}: ${b.error}`);
    if (Object.keys(b.failed).length) out.push(`baseline ${b.name}: failed POSTs: ${codes(b.failed)}`);
    if (b.invalid) out.push(`baseline ${b.name}: ${b.invalid} invalid signatures at the receiver`);
  }
  return out;
}

function settingsLine(run: WebhooksRun): string {
  return (
    `Settings: ${num(run.settings.requests)} requests per scenario, ${run.settings.submitConcurrency} submissions at a time, ` +
    `simulator latency ${run.settings.latencyMs} ms without limits, 1 worker with WEBHOOK_CONCURRENCY ` +
    `${DEFAULT_WEBHOOK_CONCURRENCY} (the default, not set), baseline concurrency ${DEFAULT_WEBHOOK_CONCURRENCY}`
  );
}

/** The report's tables: title in the terminal, title in docs/BENCHMARKS.md, table. */
function tables(run: WebhooksRun): [string, string, Table][] {
  const cpu = `Where the time goes, from the first submit to the last delivery (CPU in % of one core; ${os.cpus().length} cores = ${os.cpus().length * 100}%)`;
  return [
    [
      'Deliveries per second (distinct deliveries, first → last) vs the raw HTTP ceiling',
      'Deliveries per second vs the raw HTTP ceiling',
      throughputTable(run),
    ],
    ['Latency and correctness', 'Latency and correctness', latencyTable(run)],
    [cpu, cpu, cpuTable(run)],
    [
      'Raw HTTP ceiling: the same body, signed the same way, to the same receiver',
      'Raw HTTP ceiling (the same body, signed the same way, to the same receiver)',
      baselineTable(run),
    ],
  ];
}

export function textReport(run: WebhooksRun): string {
  return [
    ...asText.info(run.info, { extra: [settingsLine(run)] }),
    '',
    ...tables(run).flatMap(([title, , table]) => asText.table(title, table)),
    ...asText.list('Findings', findings(run)),
  ].join('\n');
}

// ---------------------------------------------------------------- docs/BENCHMARKS.md

function method(run: WebhooksRun): string {
  const s = run.settings;
  const wc = DEFAULT_WEBHOOK_CONCURRENCY;
  return `## Webhooks: \`pnpm bench:webhooks\`

What is measured: how many webhook deliveries per second one worker makes to a local receiver, how long
a delivery takes after its request completes, and whether every delivery arrives exactly once with a
valid signature, next to the raw HTTP ceiling of the same receiver on the same machine.

### Method

Each scenario starts its own processes and throws them away afterwards: a fresh \`redis-server\`
(\`startRedis()\` from \`@sluice/testkit\`), the upstream simulator without rate limits and with
\`SIM_LATENCY_MS=${s.latencyMs}\`, the API and one worker, each a child process
(\`node --import tsx apps/<app>/src/main.ts\`) on 127.0.0.1 with \`WEBHOOK_ALLOW_PRIVATE_NETWORKS=true\`
(the receiver is on 127.0.0.1). The worker runs with \`WEBHOOK_CONCURRENCY\` at its default (${wc}; the
benchmark sets it empty, which counts as unset) and every other setting at its default except
\`LOG_LEVEL=warn\` and the teardown drain. Settings: \`bench/lib/webhooks-stack.ts\`.

- **Receiver**: an HTTP server on 127.0.0.1 inside the benchmark process. It verifies every request's
  Standard Webhooks signature with the \`standardwebhooks\` package against the secret returned by
  \`POST /v1/webhooks\` for that path, answers 200 (also to an invalid signature, which is counted, so
  that it causes no retries), and records the \`webhook-id\`, the arrival time and the payload's request
  id, status and \`timestamp\`.
- **Scenario**: one enterprise tenant; ${s.warmup} warm-up requests completed before any endpoint exists
  (no delivery is owed for them), then a 1 s pause; then N endpoints registered
  (\`POST /v1/webhooks {url}\`, all events), and ${num(s.requests)} requests (the bench's standard prompt,
  \`max_tokens\` 64) submitted with at most ${s.submitConcurrency} \`POST /v1/requests\` in flight. The
  benchmark then waits until every owed delivery (accepted requests × N) has arrived, plus 2 s for
  duplicates.
- **Baseline** (the ceiling): a separate Node process POSTs the body of a real delivery, signed afresh
  per POST with \`standardwebhooks\`, to the same receiver with ${wc} POSTs in flight (the worker's
  \`WEBHOOK_CONCURRENCY\`), with plain \`node:http\`: once with a new connection per POST
  (\`agent: false\`, as the worker's \`postWebhook\` does) and once with a keep-alive agent; after 500
  unmeasured warm-up POSTs, as many POSTs as the scenario owed deliveries (at least 3,000). It runs
  right after each scenario, once that scenario's processes are stopped, so that the machine's load is
  as alike as it can be; each scenario is compared with its own ceiling.
- **Hard limits**: submitting stops after max(60 s, 30 ms per request); waiting for deliveries stops
  60 s after the last submit (a delivery that failed is retried after 5 s by default, so one retry
  fits); each baseline stops after 60 s; process start-up times out after 60 s; the whole run after
  ${s.runLimitSeconds / 60} minutes (\`--quick\`: ${s.quickRunLimitSeconds / 60}). \`--quick\` submits ${num(s.quickRequests)} requests per scenario instead of
  ${num(s.defaultRequests)}; \`--requests\` and \`--endpoints\` change the load.

### Columns

- **Completed/s**: completed requests per second from the first to the last completion, as the
  deliveries' payload \`timestamp\` says (the record's completion time in ms; \`completed_at\` itself is
  whole seconds).
- **Deliveries got / owed**: distinct (endpoint, request) deliveries with a valid signature, and
  accepted requests × endpoints. **Deliveries/s**: distinct deliveries per second from the first to the
  last one to arrive at the receiver. **…/s while completing / after**: the same, split at the last
  request's completion: from the first delivery to the last completion, and from there to the last
  delivery (n/a for a phase shorter than 0.5 s). The worker runs completions and deliveries in one
  process. **vs ceiling**: Deliveries/s ÷ the raw HTTP ceiling measured right after the scenario.
- **Submit → completed**: the request's completion time (payload \`timestamp\`) minus when the client
  sent \`POST /v1/requests\`. **Completed → delivered**: arrival at the receiver minus the completion
  time (both read from this machine's clock, by different processes). **Submit → delivered**: end to
  end. Percentiles over every delivery (for N endpoints a request counts N times), in ms.
- **Duplicates**: requests carrying a \`webhook-id\` the same path had already received. **Invalid
  signatures**: requests that failed verification. **Missing**: owed deliveries that never arrived.
  **Unexpected**: verified deliveries that were not owed (unknown request id, another event, a second
  event for the same request, or an event of a warm-up request: Sluice sends an event to the endpoints
  that exist when its dispatch job runs, so a request that finished a few ms before an endpoint was
  registered can still reach it; the 1 s pause after the warm-up avoids that race).
- **Findings** start with PASS for a scenario whose every owed delivery arrived exactly once with a
  valid signature and nothing unexpected arrived (warm-up events aside), FAIL otherwise.
- **CPU**: each process's CPU time (\`/proc/<pid>/stat\`; the benchmark's own \`process.cpuUsage()\`)
  from the first submit until the last owed delivery arrived, in % of one core; a process near 100% is
  bound by its single JavaScript thread. **Worker while completing / after**: the worker's CPU, sampled
  every 250 ms, split at the last completion like the delivery rates. **Worker event-loop delay**:
  prom-client's \`monitorEventLoopDelay\` percentiles from the worker's \`/metrics\` over the same window
  (10 ms resolution). **POST time recorded by Sluice**: \`latency_ms\` of every attempt in
  \`GET /v1/webhooks/{id}/deliveries\` (the 100 most recent deliveries per endpoint), which includes
  connecting and any event-loop delay in the worker.
- **Raw HTTP ceiling**: POSTs per second the receiver got from the first to the last one; POST latency
  is the sender's, send to answer.

Every process (Redis, simulator, API, worker, the benchmark with its receiver and client) shares this
machine's cores, and other work on the machine (for example test suites) competes with them: see the
load averages. Absolute rates are therefore pessimistic and vary from run to run; the counts are not
affected.
`;
}

export function markdownSection(run: WebhooksRun): string {
  return docSection('webhooks', method(run), asMarkdown.info(run.info), [
    ...tables(run).flatMap(([, title, table]) => asMarkdown.table(title, table)),
    ...asMarkdown.list('Findings', findings(run)),
  ]);
}
