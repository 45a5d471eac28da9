/**
 * `pnpm bench:batch [--quick] [--lines N] [--rpm N] [--drain-limit S] [--no-write]`
 *
 * Measures a 50,000-line Batch API file through Sluice: upload time, time to `in_progress`, time until
 * every line is enqueued and lines enqueued per second, the API's and the worker's peak RSS, the time to
 * drain against the simulator's rate limit compared with the ceiling, the output file, and the latency of
 * interactive requests sent meanwhile. Sends traffic only to processes it starts on 127.0.0.1, stops by
 * itself, prints a table and records it in docs/BENCHMARKS.md. Method: bench/lib/batch-report.ts.
 */
import {
  API_RSS_GOAL_BYTES,
  type BatchReport,
  checks,
  ENQUEUE_GOAL_SECONDS,
  markdownSection,
  textReport,
} from './lib/batch-report.js';
import { type BatchSettings, runBatch } from './lib/batch-run.js';
import {
  type CommonOptions,
  integerFlag,
  limitRun,
  parseFlags,
  program,
  publish,
  runMain,
  startRun,
} from './lib/cli.js';
import type { Limits } from './lib/config.js';
import { loadAverage } from './lib/output.js';

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

const PROGRAM = program(
  'batch',
  `  --quick              ${QUICK_LINES.toLocaleString('en-US')} lines instead of ${DEFAULT_LINES.toLocaleString('en-US')}, 10 s of interactive traffic after enqueueing:
                       a smoke run of about a minute
  --lines <n>          lines in the batch file (1..50000)
  --rpm <n>            the simulator's request limit per minute, enforced over 1 s windows (default ${DEFAULT_RPM})
  --drain-limit <s>    stop measuring the drain after this long and report its rate and projected time
                       (default 1.5 x the ideal drain time + 30 s, at most ${DRAIN_LIMIT_SECONDS} s; --quick at most ${QUICK_DRAIN_LIMIT_SECONDS} s)
`,
);

interface Options extends CommonOptions {
  lines?: number;
  rpm: number;
  drainLimit?: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, write: true, rpm: DEFAULT_RPM };
  parseFlags(PROGRAM, argv, options, {
    '--lines': (value, flag) => {
      options.lines = integerFlag(PROGRAM, flag, value(), 1, 50_000);
    },
    '--rpm': (value, flag) => {
      options.rpm = integerFlag(PROGRAM, flag, value(), 60, 600_000);
    },
    '--drain-limit': (value, flag) => {
      options.drainLimit = integerFlag(PROGRAM, flag, value(), 5, 3_600);
    },
  });
  return options;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  const lines = options.lines ?? (options.quick ? QUICK_LINES : DEFAULT_LINES);
  // The drain is capped on its own; the whole run gets room for it on top of its default limit.
  const runLimit =
    (options.quick ? QUICK_RUN_LIMIT_SECONDS : RUN_LIMIT_SECONDS) +
    Math.max(0, (options.drainLimit ?? 0) - 300);
  limitRun(runLimit);

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

  const info = startRun(PROGRAM, argv);
  process.stderr.write(
    `[bench] ${lines.toLocaleString('en-US')} lines; upstream ${options.rpm / 60} requests/s ` +
      `(${options.rpm} RPM over ${WINDOW_MS} ms windows), ${LATENCY_MS} ms per call; ` +
      `goals: enqueued within ${ENQUEUE_GOAL_SECONDS} s, API peak RSS < ${API_RSS_GOAL_BYTES / 1e6} MB\n`,
  );
  const run = await runBatch(settings);
  const report: BatchReport = {
    info: { ...info(), loadAfter: loadAverage() },
    run,
    defaultLines: DEFAULT_LINES,
    quickLines: QUICK_LINES,
  };
  publish(PROGRAM, options, textReport(report), () => markdownSection(report));
  // Goals are measurements (a FAIL still exits 0, as bench:ratelimit does); a run that broke or lost lines does not.
  const { correctness } = checks(report);
  return !run.error && correctness.every((c) => c.pass !== false) ? 0 : 1;
}

runMain(PROGRAM, main);
