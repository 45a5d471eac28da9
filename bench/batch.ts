/**
 * `pnpm bench:batch [--quick] [--lines N] [--rpm N] [--drain-limit S] [--no-write]`
 *
 * Measures a 50,000-line Batch API file through Sluice: upload time, time to `in_progress`, time until
 * every line is enqueued and lines enqueued per second, the API's and the worker's peak RSS, the time to
 * drain against the simulator's rate limit compared with the ceiling, the output file, and the latency of
 * interactive requests sent meanwhile. Sends traffic only to processes it starts on 127.0.0.1, stops by
 * itself, prints a table and records it in docs/BENCHMARKS.md. Method: bench/lib/batch-report.ts.
 */
import os from 'node:os';
import {
  API_RSS_GOAL_BYTES,
  type BatchReport,
  checks,
  ENQUEUE_GOAL_SECONDS,
  markdownSection,
  textReport,
  writeDoc,
} from './lib/batch-report.js';
import { type BatchSettings, runBatch } from './lib/batch-run.js';
import type { Limits } from './lib/config.js';
import { DOC_PATH, runInfo } from './lib/report.js';

const DEFAULT_LINES = 50_000;
const QUICK_LINES = 5_000;
/**
 * The simulated upstream: 250 requests/s over 1 s windows (15,000 RPM), 20 ms per call, and a token limit
 * far above what the requests use. This 2-core machine, running the simulator, Redis, the API, the worker and
 * this client at once, reached about 400 lines/s with the limit at 1,000/s (60,000 RPM) while other work
 * shared it; 250/s leaves room, so the drain is paced by the rate-limit controller, not by the machine.
 */
const DEFAULT_RPM = 15_000;
const WINDOW_MS = 1_000;
const LATENCY_MS = 20;
const TPM = 100_000_000;
/** The whole run is cut off after this long, whatever it is doing, s. */
const RUN_LIMIT_SECONDS = 720;
const QUICK_RUN_LIMIT_SECONDS = 300;
/** Default caps of the drain measurement, s (a drain that would take longer is reported as a rate). */
const DRAIN_LIMIT_SECONDS = 330;
const QUICK_DRAIN_LIMIT_SECONDS = 120;

const USAGE = `Usage: pnpm bench:batch [options]

  --quick              ${QUICK_LINES.toLocaleString('en-US')} lines instead of ${DEFAULT_LINES.toLocaleString('en-US')}, 10 s of interactive traffic after enqueueing:
                       a smoke run of about a minute
  --lines <n>          lines in the batch file (1..50000)
  --rpm <n>            the simulator's request limit per minute, enforced over 1 s windows (default ${DEFAULT_RPM})
  --drain-limit <s>    stop measuring the drain after this long and report its rate and projected time
                       (default 1.5 x the ideal drain time + 30 s, at most ${DRAIN_LIMIT_SECONDS} s; --quick at most ${QUICK_DRAIN_LIMIT_SECONDS} s)
  --no-write           print the results only; do not update docs/BENCHMARKS.md
  --help               this text
`;

interface Options {
  quick: boolean;
  write: boolean;
  lines?: number;
  rpm: number;
  drainLimit?: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, write: true, rpm: DEFAULT_RPM };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        options.quick = true;
        break;
      case '--no-write':
        options.write = false;
        break;
      case '--lines': {
        const n = Number(value());
        if (!(Number.isInteger(n) && n >= 1 && n <= 50_000)) fail('--lines must be an integer in 1..50000');
        options.lines = n;
        break;
      }
      case '--rpm': {
        const n = Number(value());
        if (!(Number.isInteger(n) && n >= 60 && n <= 600_000)) fail('--rpm must be an integer in 60..600000');
        options.rpm = n;
        break;
      }
      case '--drain-limit': {
        const n = Number(value());
        if (!(Number.isInteger(n) && n >= 5 && n <= 3_600))
          fail('--drain-limit must be an integer in 5..3600');
        options.drainLimit = n;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      case '--':
        break;
      default:
        fail(`unknown argument '${arg}'`);
    }
  }
  return options;
}

function fail(message: string): never {
  process.stderr.write(`bench:batch: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function commandLine(argv: string[]): string {
  const args = argv.length ? ` ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench:batch'
    ? `pnpm bench:batch${args}`
    : `node --import tsx bench/batch.ts${args}`;
}

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  const lines = options.lines ?? (options.quick ? QUICK_LINES : DEFAULT_LINES);
  // The drain is capped on its own; the whole run gets room for it on top of its default limit.
  const runLimit =
    (options.quick ? QUICK_RUN_LIMIT_SECONDS : RUN_LIMIT_SECONDS) +
    Math.max(0, (options.drainLimit ?? 0) - 300);
  // The last line of defence: whatever hangs, the run ends (the testkit kills the children on exit).
  setTimeout(() => {
    process.stderr.write(`[bench] the whole run exceeded its ${runLimit} s limit; stopping\n`);
    process.exit(1);
  }, runLimit * 1000).unref();

  const limits: Limits = { rpm: options.rpm, tpm: TPM, windowMs: WINDOW_MS, latencyMs: LATENCY_MS };
  // At the limit's rate the drain of every line takes lines ÷ rate; leave room for start-up and a slow machine.
  const idealDrain = lines / (options.rpm / 60);
  const settings: BatchSettings = {
    lines,
    limits,
    pollMs: 100,
    idleInteractive: 20,
    interactiveEveryMs: 200,
    interactiveSeconds: options.quick ? 10 : 20,
    limitsSeconds: {
      generate: 60,
      upload: 60,
      validate: 60,
      enqueue: 120,
      drain:
        options.drainLimit ??
        Math.min(
          options.quick ? QUICK_DRAIN_LIMIT_SECONDS : DRAIN_LIMIT_SECONDS,
          Math.max(60, Math.ceil(idealDrain * 1.5 + 30)),
        ),
      finalize: 120,
      download: 60,
      interactive: 60,
    },
  };

  const info = runInfo(commandLine(argv));
  const started = performance.now();
  process.stderr.write(
    `[bench] ${lines.toLocaleString('en-US')} lines; upstream ${options.rpm / 60} requests/s ` +
      `(${options.rpm} RPM over ${WINDOW_MS} ms windows), ${LATENCY_MS} ms per call; ` +
      `goals: enqueued within ${ENQUEUE_GOAL_SECONDS} s, API peak RSS < ${API_RSS_GOAL_BYTES / 1e6} MB\n`,
  );
  const run = await runBatch(settings);
  const report: BatchReport = {
    info: { ...info, loadAfter: loadAverage(), wallSeconds: (performance.now() - started) / 1000 },
    run,
    defaultLines: DEFAULT_LINES,
    quickLines: QUICK_LINES,
  };
  process.stdout.write(`\n${textReport(report)}`);
  if (options.write) {
    writeDoc(markdownSection(report));
    process.stdout.write(`Results written to ${DOC_PATH}\n`);
  }
  // Goals are measurements (a FAIL still exits 0, as bench:ratelimit does); a run that broke or lost lines does not.
  const { correctness } = checks(report);
  const ok = !run.error && correctness.every((c) => c.pass !== false);
  // Keep-alive sockets to the stopped servers must not keep the process up.
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`bench:batch failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
