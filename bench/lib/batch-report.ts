/** Tables, goals, findings and the docs/BENCHMARKS.md section of `pnpm bench:batch`. */
import type { BatchRunResult, Interactive } from './batch-run.js';
import type { Limits } from './config.js';
import { asMarkdown, asText, docSection, type RunInfo, type Table } from './output.js';
import { upstreamCalls } from './stats.js';

export interface BatchReport {
  info: RunInfo & { loadAfter: string };
  run: BatchRunResult;
  /** Lines of a default run and of `--quick`, for the method text. */
  defaultLines: number;
  quickLines: number;
}

/** The goals from the issue. */
export const ENQUEUE_GOAL_SECONDS = 10;
export const API_RSS_GOAL_BYTES = 300 * 1_000_000;

// ---------------------------------------------------------------- formatting

const num = (n: number) => n.toLocaleString('en-US');
const mb = (b: number | undefined) => (b === undefined ? 'n/a' : `${(b / 1_000_000).toFixed(0)} MB`);
const s = (sec: number | undefined, digits = 2) => (sec === undefined ? 'n/a' : `${sec.toFixed(digits)} s`);
const ms = (m: number | undefined) => (m === undefined ? undefined : m / 1000);
const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`;

function memoryOf(run: BatchRunResult, phase: string, proc: string) {
  return run.memory[phase]?.get(proc);
}

/** The API's peak RSS over upload + validation + enqueueing: VmHWM at the phase's end (≥ every sample). */
export function apiPeak(run: BatchRunResult): number | undefined {
  const m = memoryOf(run, 'upload+enqueue', 'api');
  if (!m) return undefined;
  return Math.max(m.hwm ?? 0, m.sampledPeak ?? 0) || undefined;
}

function memoryCell(run: BatchRunResult, phase: string, proc: string): string {
  const m = memoryOf(run, phase, proc);
  if (!m) return 'n/a';
  const hwm = m.hwm === undefined ? '' : `, process peak so far (VmHWM) ${mb(m.hwm)}`;
  return `sampled peak ${mb(m.sampledPeak)} (start ${mb(m.start)}, end ${mb(m.end)}${hwm}; ${m.samples} samples)`;
}

function interactiveValue(x: Interactive | undefined): string {
  if (!x) return 'not run';
  return x.latency.n === 0
    ? 'n/a'
    : `p50 ${Math.round(x.latency.p50 ?? 0)} / p95 ${Math.round(x.latency.p95 ?? 0)} ms`;
}

function interactiveDetail(x: Interactive | undefined, latencyMs: number): string {
  if (!x) return '';
  const ratio = x.latency.p95 === undefined ? 'n/a' : `${(x.latency.p95 / latencyMs).toFixed(1)}x`;
  return (
    `send→completed; ${x.sent} sent / ${x.completed} completed / ${x.failed} failed / ${x.open} open; ` +
    `max ${Math.round(x.latency.max ?? 0)} ms, ${x.overOneSecond} over 1 s; p95 = ${ratio} the upstream latency; ` +
    `send→202 p95 ${Math.round(x.ack.p95 ?? 0)} ms`
  );
}

/** The simulator's limits in words. */
export function simText(l: Limits): string {
  const window = l.windowMs === 60_000 ? 'per minute' : `over ${l.windowMs / 1000} s windows`;
  return `${num(l.rpm)} RPM ${window} (TPM ${num(l.tpm)}, never binding), ${l.latencyMs} ms per call`;
}

// ---------------------------------------------------------------- tables

export function measuresTable(report: BatchReport): Table {
  const { run } = report;
  const l = run.settings.limits;
  const burst = Math.max(1, (l.rpm * l.windowMs) / 60_000);
  const rows: string[][] = [];
  const add = (measure: string, value: string, detail = '') => rows.push([measure, value, detail]);

  add(
    'Upstream simulator',
    `${num(l.rpm / 60)} requests/s`,
    `${simText(l)}; request bucket ${num(burst)}; no jitter, no faults`,
  );
  add(
    'Input file',
    `${num(run.settings.lines)} lines`,
    `${mb(run.file.bytes)}, written streamed in ${s(run.file.seconds)}; distinct prompts, max_tokens set`,
  );
  if (run.upload) {
    add(
      'Upload (files.create)',
      s(run.upload.seconds),
      `${mb(run.upload.bytes)} at ${(run.upload.bytes / 1_000_000 / Math.max(0.001, run.upload.seconds)).toFixed(0)} MB/s`,
    );
  }
  if (run.createMs !== undefined) add('batches.create call', s(ms(run.createMs)));
  if (run.validation) {
    add(
      'Create → in_progress (validation)',
      s(ms(run.validation.observedMs)),
      `seen by a poll every ${run.settings.pollMs} ms; server stamps: ${s(ms(run.validation.serverMs))}`,
    );
  }
  const e = run.enqueue;
  if (e) {
    add(
      'in_progress → every line enqueued',
      e.observedMs === undefined ? `not reached (${num(e.reached)} of ${num(e.total)})` : s(ms(e.observedMs)),
      `Redis hash \`<prefix>:batch:<id>\` field \`enqueued\`${e.timedOut ? ' (hard limit hit)' : ''}`,
    );
    add(
      'Upload start → every line enqueued',
      s(ms(e.uploadToEnqueuedMs)),
      `upload + create + validation + enqueueing (goal ≤ ${ENQUEUE_GOAL_SECONDS} s)`,
    );
    add(
      'Lines enqueued per second',
      e.perSecond === undefined ? 'n/a' : `${num(Math.round(e.perSecond))}/s`,
      'lines ÷ (server in_progress_at → every line enqueued)',
    );
    if (e.perFifth?.length) {
      add(
        'Enqueued per second, by fifth',
        e.perFifth.map((r) => num(Math.round(r))).join(' → '),
        'lines/s over each fifth of the file, first to last (between the polls that saw each fifth done)',
      );
    }
    if (e.queueAtDone) {
      const q = Object.entries(e.queueAtDone)
        .map(([k, v]) => `${k} ${num(v)}`)
        .join(', ');
      add(
        'At that moment',
        `${num(e.endedAtDone ?? 0)} lines ended`,
        `completions queue (API /metrics): ${q}`,
      );
    }
  }
  add('API RSS, upload + enqueue', mb(apiPeak(run)), memoryCell(run, 'upload+enqueue', 'api'));
  add(
    'Worker RSS, upload + enqueue',
    mb(memoryOf(run, 'upload+enqueue', 'worker')?.hwm),
    memoryCell(run, 'upload+enqueue', 'worker'),
  );
  add('API RSS, drain', mb(memoryOf(run, 'drain', 'api')?.sampledPeak), memoryCell(run, 'drain', 'api'));
  add(
    'Worker RSS, drain',
    mb(memoryOf(run, 'drain', 'worker')?.sampledPeak),
    memoryCell(run, 'drain', 'worker'),
  );
  if (run.redisMemory) {
    add(
      'Redis used_memory',
      mb(run.redisMemory.afterEnqueue),
      `after enqueueing; peak of the run ${mb(run.redisMemory.peak)}`,
    );
  }
  const d = run.drain;
  if (d) {
    const sim = d.sim;
    add(
      'in_progress → every line ended (drain)',
      d.timedOut ? `capped at ${s(d.seconds, 1)}` : s(d.seconds, 1),
      d.timedOut
        ? `${num(d.ended)} of ${num(d.total)} ended; projected ${s(d.projectedSeconds, 0)} for all at this rate`
        : `${num(d.ended)} lines`,
    );
    add(
      'Drain rate',
      `${num(Math.round(d.perSecond))} lines/s`,
      `over the whole window; after enqueueing finished: ${d.steadyPerSecond === undefined ? 'n/a' : `${num(Math.round(d.steadyPerSecond))}/s`}; the limit allows ${num(l.rpm / 60)}/s`,
    );
    const gc = d.globalConcurrency;
    if (gc && gc.n > 0) {
      add(
        'Global concurrency, drain',
        `p50 ${gc.p50}`,
        `BullMQ global concurrency of the completions queue (the controller's target + 25%), sampled every poll; max ${gc.max}`,
      );
    }
    add(
      'Upstream calls (simulator)',
      num(upstreamCalls(sim)),
      `${num(sim.completed)} answered 200, ${num(sim.rateLimited)} answered 429 (${pct(sim.rateLimited / Math.max(1, upstreamCalls(sim)))}), ` +
        `${num(sim.errors)} errors; includes the interactive requests`,
    );
    add(
      'Ceiling',
      `${num(d.ceiling.requests)} in ${s(d.seconds, 1)}`,
      `${num(d.ceiling.perSecond)}/s × seconds + burst ${num(Math.round(d.ceiling.burst))} (${d.ceiling.binding} bind)`,
    );
    add(
      'Used',
      pct(sim.completed / Math.max(1, d.ceiling.requests)),
      'upstream calls answered 200 ÷ ceiling',
    );
  }
  if (run.finalizeSeconds !== undefined || run.finalizeTimedOut) {
    add(
      'Every line ended → completed',
      run.finalizeTimedOut ? 'not reached (hard limit)' : s(run.finalizeSeconds),
      'batch sweeper tick + writing the output file',
    );
  }
  if (run.createToCompletedSeconds !== undefined)
    add('Create → completed', s(run.createToCompletedSeconds, 1));
  if (run.requestCounts) {
    const c = run.requestCounts;
    add(
      'request_counts',
      `${num(c.completed)} completed`,
      `total ${num(c.total)}, failed ${num(c.failed)}; status ${run.status}`,
    );
  }
  if (run.output) {
    const o = run.output;
    add(
      'Output file (files.content)',
      `${num(o.lines)} lines`,
      `${num(o.ok)} with status 200, ${num(o.distinctKnownIds)} distinct custom_ids, ${o.malformed} malformed; ${mb(o.bytes)} read streamed in ${s(o.seconds)}`,
    );
  }
  if (run.errorFile) add('Error file', `${num(run.errorFile.lines)} lines`);
  add(
    'Interactive, idle (reference)',
    interactiveValue(run.interactive.idle),
    interactiveDetail(run.interactive.idle, l.latencyMs),
  );
  for (const [name, x] of [
    ['Interactive, while enqueueing', run.interactive.duringEnqueue],
    ['Interactive, while draining', run.interactive.duringDrain],
  ] as const) {
    add(
      name,
      interactiveValue(x),
      x
        ? `${interactiveDetail(x, l.latencyMs)}; ${x.overlapping} of ${x.sent} sent before every batch line had ended`
        : '',
    );
  }
  for (const [phase, perProcess] of Object.entries(run.cpu)) {
    add(
      `CPU, ${phase}`,
      Object.entries(perProcess)
        .map(([p, share]) => `${p} ${(share.cpu * 100).toFixed(0)}%`)
        .join(', '),
      `CPU time ÷ wall time (100% = one of the 2 cores); main thread waiting for a CPU: ${Object.entries(
        perProcess,
      )
        .map(
          ([p, share]) =>
            `${p} ${share.waited === undefined ? 'n/a' : `${(share.waited * 100).toFixed(0)}%`}`,
        )
        .join(', ')}`,
    );
  }
  return { headers: ['Measure', 'Value', 'Detail'], rows };
}

interface Check {
  name: string;
  pass: boolean | undefined;
  value: string;
}

export function checks(report: BatchReport): { goals: Check[]; correctness: Check[] } {
  const { run } = report;
  const e = run.enqueue;
  const enqueueSeconds = ms(e?.uploadToEnqueuedMs);
  const peak = apiPeak(run);
  const total = run.settings.lines;
  const o = run.output;
  const c = run.requestCounts;
  const sent = (run.interactive.duringEnqueue?.sent ?? 0) + (run.interactive.duringDrain?.sent ?? 0);
  const completed =
    (run.interactive.duringEnqueue?.completed ?? 0) + (run.interactive.duringDrain?.completed ?? 0);
  return {
    goals: [
      {
        name: `Accepted and enqueued within ${ENQUEUE_GOAL_SECONDS} s`,
        pass: enqueueSeconds === undefined ? false : enqueueSeconds <= ENQUEUE_GOAL_SECONDS,
        value:
          enqueueSeconds === undefined
            ? `not every line was enqueued (${num(e?.reached ?? 0)} of ${num(total)})`
            : `${s(enqueueSeconds)} from upload start (upload ${s(run.upload?.seconds)}, validation ${s(ms(run.validation?.observedMs))}, enqueueing ${s(ms(e?.observedMs))})`,
      },
      {
        name: 'API peak RSS < 300 MB',
        pass: peak === undefined ? undefined : peak < API_RSS_GOAL_BYTES,
        value:
          peak === undefined
            ? 'not measured'
            : `${mb(peak)} (VmHWM of ${run.processes.api.how.split(' (')[0]} at the end of upload + enqueue)`,
      },
    ],
    correctness: [
      {
        name: `Output file has ${num(total)} lines, each a 200`,
        pass: o ? o.lines === total && o.ok === total && o.distinctKnownIds === total : false,
        value: o
          ? `${num(o.lines)} lines, ${num(o.ok)} ok, ${num(o.distinctKnownIds)} distinct custom_ids`
          : 'not read',
      },
      {
        name: `request_counts.completed = ${num(total)}`,
        pass: c ? c.completed === total && c.total === total && c.failed === 0 : false,
        value: c
          ? `${num(c.completed)} of ${num(c.total)} (${num(c.failed)} failed), status ${run.status}`
          : 'n/a',
      },
      {
        name: 'Every interactive request completed during the batch',
        pass: sent > 0 && completed === sent,
        value: `${completed} of ${sent}`,
      },
    ],
  };
}

const verdict = (p: boolean | undefined) => (p === undefined ? 'n/a' : p ? 'PASS' : 'FAIL');

export function goalsTable(report: BatchReport): Table {
  const { goals, correctness } = checks(report);
  return {
    headers: ['Goal / check', 'Result', 'Measured'],
    rows: [
      ...goals.map((g) => [g.name, verdict(g.pass), g.value]),
      ...correctness.map((g) => [`(check) ${g.name}`, verdict(g.pass), g.value]),
    ],
  };
}

/** Anything that looked wrong: timeouts, crashes, failures, starvation, odd upstream outcomes. */
export function findings(report: BatchReport): string[] {
  const { run } = report;
  const out: string[] = [];
  if (run.error) out.push(`the run stopped early: ${run.error.split('\n')[0]}`);
  if (run.enqueue?.timedOut) {
    out.push(
      `enqueueing did not finish within its hard limit of ${run.settings.limitsSeconds.enqueue} s ` +
        `(${num(run.enqueue.reached)} of ${num(run.enqueue.total)} lines)`,
    );
  }
  if (run.drain?.timedOut) {
    out.push(
      `the drain was capped at ${run.settings.limitsSeconds.drain} s with ${num(run.drain.ended)} of ` +
        `${num(run.drain.total)} lines ended (${num(Math.round(run.drain.perSecond))}/s; all would take about ` +
        `${s(run.drain.projectedSeconds, 0)})`,
    );
  }
  if (run.finalizeTimedOut)
    out.push(`finalizing did not finish within ${run.settings.limitsSeconds.finalize} s`);
  if (run.drain && run.drain.sim.rateLimited > 0) {
    out.push(`${num(run.drain.sim.rateLimited)} upstream calls were answered 429`);
  }
  for (const x of [run.interactive.duringEnqueue, run.interactive.duringDrain]) {
    for (const [code, n] of Object.entries(x?.failures ?? {})) out.push(`interactive: ${code} ×${n}`);
  }
  for (const [name, x] of [
    ['idle', run.interactive.idle],
    ['while enqueueing', run.interactive.duringEnqueue],
    ['while draining', run.interactive.duringDrain],
  ] as const) {
    if (x && x.overOneSecond > 0) {
      out.push(
        `interactive requests (${name}): ${x.overOneSecond} of ${x.completed} took over 1 s (max ` +
          `${Math.round(x.latency.max ?? 0)} ms) although the upstream answers in ${run.settings.limits.latencyMs} ms`,
      );
    }
  }
  const d = run.drain;
  if (d && !d.timedOut) {
    const used = d.sim.completed / Math.max(1, d.ceiling.requests);
    if (used < 0.9) out.push(`the drain used ${pct(used)} of the ceiling`);
  }
  const w = memoryOf(run, 'drain', 'worker');
  if (w?.start !== undefined && w.sampledPeak !== undefined && w.sampledPeak - w.start > 50_000_000) {
    out.push(
      `worker RSS grew from ${mb(w.start)} to ${mb(w.sampledPeak)} during the drain (end ${mb(w.end)})`,
    );
  }
  out.push(...run.notes, ...run.problems);
  return out;
}

// ---------------------------------------------------------------- output

export function textReport(report: BatchReport): string {
  const { info } = report;
  const notes = findings(report);
  return [
    ...asText.info(info, {
      machine: [
        `Machine: ${info.machine}, Node ${info.node}`,
        `Load average before: ${info.loadBefore}; after: ${info.loadAfter} (other work on this machine shares its cores)`,
      ],
      extra: [
        `Measured processes: API ${report.run.processes.api.how}; worker ${report.run.processes.worker.how}`,
      ],
    }),
    '',
    ...asText.table(
      `Batch of ${num(report.run.settings.lines)} lines through Sluice (1 API, 1 worker)`,
      measuresTable(report),
    ),
    ...asText.table('Goals', goalsTable(report)),
    ...(notes.length ? asText.list('Findings', notes) : []),
  ].join('\n');
}

function method(report: BatchReport): string {
  const st = report.run.settings;
  const L = st.limitsSeconds;
  return `## Batches: \`pnpm bench:batch\`

The goal being measured (from the issue): a 50,000-line file must be accepted in seconds and drained
through the same rate-limit controller without starving interactive traffic. Goals: accepted and enqueued
within ${ENQUEUE_GOAL_SECONDS} seconds, API peak RSS under 300 MB.

### Method

One run starts its own processes and throws them away afterwards: a fresh \`redis-server\`
(\`startRedis()\` from \`@sluice/testkit\`), the upstream simulator (via \`startStack\` of
\`bench/lib/stack.ts\`), the API and one worker, each a child process
(\`node --import tsx apps/<app>/src/main.ts\`) on 127.0.0.1, API and worker sharing a temporary
\`FILE_STORAGE_DIR\`. Worker settings are those of \`bench:ratelimit\` (\`WORKER_ENV\` in
\`bench/lib/config.ts\`); the batch settings are at their defaults.

- **Upstream.** ${simText(st.limits)}: ${num(st.limits.rpm / 60)} requests/s sustained, a request
  bucket of ${num(Math.max(1, (st.limits.rpm * st.limits.windowMs) / 60_000))}. The limit is chosen so that this
  2-core machine, which runs the simulator, Redis, the API, the worker and the load generator at once,
  keeps up with it (in an exploratory run with the limit at 1,000/s it drained about 400 lines/s): the drain is then paced by
  Sluice's rate-limit controller, not by the machine. \`--rpm\` changes it.
- **File.** ${num(report.defaultLines)} lines (\`--quick\`: ${num(report.quickLines)}), written to disk
  line by line: \`custom_id\` \`line-NNNNNN\`, \`POST /v1/chat/completions\`, model \`gpt-4o-mini\`, a
  distinct prompt per line, \`max_tokens: 32\`.
- **Upload and batch.** The official \`openai\` SDK: \`files.create({ file: toFile(stream), purpose:
  'batch' })\` (timed), then \`batches.create\`. A poll every ${st.pollMs} ms reads \`batches.retrieve\`
  (status, \`request_counts\`) and the Redis hash \`<SLUICE_PREFIX>:batch:<id>\` (field \`enqueued\`: the
  Batch object has no such counter; the worker updates it after every 1,000-line chunk). Times are taken by
  the client with \`performance.now()\`, so they include up to one poll interval; the server's
  millisecond stamps (\`created_at\`, \`in_progress_at\` in the hash) are shown next to them.
- **Enqueued per second**: lines ÷ (server \`in_progress_at\` → the poll that saw \`enqueued\` = total).
  Validation and enqueueing happen in the worker; the API only stores the upload.
- **Memory.** \`VmRSS\` of the API and worker processes from \`/proc/<pid>/status\` every 100 ms, and
  \`VmHWM\` (the kernel's own peak, which no sample can miss) at each phase's end. The pid is the one that
  holds the app's listening socket (checked in \`/proc/net/tcp\`), i.e. the node process running
  \`main.ts\`, not a launcher. The RSS goal uses the API's \`VmHWM\` at the end of upload + enqueue. The
  apps run from TypeScript through tsx, whose compiler is part of every RSS figure (see "start").
- **CPU.** \`utime + stime\` from \`/proc/<pid>/stat\` ÷ wall time per phase (100% = one core), and the
  share of the phase the main thread was runnable but waiting for a core (\`/proc/<pid>/schedstat\`): high
  values mean the machine, not the process, was the limit.
- **Drain.** The simulator is reset right before \`batches.create\` (every bucket full, counters zero).
  Window: server \`in_progress_at\` → the poll that saw \`completed + failed = total\`. **Ceiling** = RPM/60 ×
  seconds + the request bucket (the token budget is larger); **Used** = calls answered 200 ÷ ceiling
  (interactive calls included, they share the upstream key).
- **Interactive traffic.** A pro-tier tenant sends \`POST /v1/requests\` (priority normal, long-polled with
  \`?wait=25\`: the client of \`bench:ratelimit\`), one every ${st.interactiveEveryMs} ms: ${st.idleInteractive} on the
  idle system first, as a reference; then from the moment the batch is \`in_progress\` until
  ${st.interactiveSeconds} s after every line was enqueued (\`--quick\`: 10 s), reported separately for the
  requests sent while the batch was being enqueued and those sent while it drained. Batch lines sit in a
  priority band below every interactive tier; the batch belongs to another pro-tier tenant. Latency is
  send → completed as the client sees it.
- **Output.** \`files.content(output_file_id)\` read as a stream: lines, status 200s and distinct
  \`custom_id\`s counted.
- **Hard limits** (s): write ${L.generate}, upload ${L.upload}, validation ${L.validate}, enqueueing
  ${L.enqueue}, drain ${L.drain}, finalizing ${L.finalize}, download ${L.download}, each interactive
  request ${L.interactive}; the whole run is cut off after a fixed time too. A capped drain reports its
  rate and the projected time for every line.

Every process shares this machine's two cores with the load generator and with whatever else runs on
the machine (other engineers' tests, see the load averages), so absolute times are pessimistic.
`;
}

export function markdownSection(report: BatchReport): string {
  const { info } = report;
  const notes = findings(report);
  const infoLines = asMarkdown.info(info, {
    machine: [
      `Machine: ${info.machine}; Node ${info.node}`,
      `Load average before the run: ${info.loadBefore}; after: ${info.loadAfter}`,
    ],
    extra: [`Measured: API ${report.run.processes.api.how}; worker ${report.run.processes.worker.how}`],
  });
  return docSection('batch', method(report), infoLines, [
    ...asMarkdown.table('Goals', goalsTable(report)),
    ...asMarkdown.table(`Measurements (${num(report.run.settings.lines)} lines)`, measuresTable(report)),
    ...(notes.length ? asMarkdown.list('Findings', notes) : []),
  ]);
}
