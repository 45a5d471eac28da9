/**
 * `pnpm bench:webhooks [--quick] [--requests N] [--endpoints 1,5] [--no-write]`
 *
 * Measures webhook deliveries per second from one worker to a local receiver that verifies every
 * Standard Webhooks signature, the latency from a request's completion to its delivery, and whether every
 * delivery arrives exactly once, next to the raw HTTP ceiling of the same receiver. Sends traffic only to
 * processes it starts on 127.0.0.1, stops by itself, prints a table and records it in docs/BENCHMARKS.md.
 * Method and columns: docs/BENCHMARKS.md (written by bench/lib/webhooks-report.ts).
 */
import {
  type CommonOptions,
  fail,
  integerFlag,
  limitRun,
  parseFlags,
  program,
  publish,
  runMain,
  startRun,
} from './lib/cli.js';
import { loadAverage } from './lib/output.js';
import { type BaselineRow, runBaseline } from './lib/webhooks-baseline.js';
import { startWebhookReceiver } from './lib/webhooks-receiver.js';
import { markdownSection, textReport, type WebhooksRun } from './lib/webhooks-report.js';
import { runScenario, type ScenarioResult, type ScenarioSpec } from './lib/webhooks-run.js';
import { DEFAULT_WEBHOOK_CONCURRENCY } from './lib/webhooks-stack.js';

const DEFAULT_REQUESTS = 2_000;
const QUICK_REQUESTS = 300;
const DEFAULT_ENDPOINTS = [1, 5];
const SUBMIT_CONCURRENCY = 32;
const SIM_LATENCY_MS = 5;
const WARMUP_REQUESTS = 20;
const DELIVER_TIME_LIMIT_MS = 60_000;
const BASELINE_TIME_LIMIT_MS = 60_000;
/** The whole run is cut off after this long, whatever it is doing, s. */
const RUN_LIMIT_SECONDS = 600;
const QUICK_RUN_LIMIT_SECONDS = 360;
/** A baseline sends as many POSTs as its scenario owed deliveries, within these bounds. */
const BASELINE_MIN_POSTS = 3_000;
const BASELINE_MAX_POSTS = 20_000;
/** The baseline's body when no delivery was captured (about the size of a completed request's payload). */
const FALLBACK_BODY_BYTES = 1_500;

const PROGRAM = program(
  'webhooks',
  `  --quick              ${QUICK_REQUESTS} requests per scenario instead of ${DEFAULT_REQUESTS.toLocaleString('en-US')}: a smoke run of about a minute
  --requests <n>       requests per scenario (1..20000)
  --endpoints <list>   endpoint counts, one scenario each (comma-separated, 1..20; default ${DEFAULT_ENDPOINTS.join(',')})
`,
);

interface Options extends CommonOptions {
  requests?: number;
  endpoints: number[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, write: true, endpoints: DEFAULT_ENDPOINTS };
  parseFlags(PROGRAM, argv, options, {
    '--requests': (value, flag) => {
      options.requests = integerFlag(PROGRAM, flag, value(), 1, 20_000);
    },
    '--endpoints': (value) => {
      const list = value()
        .split(',')
        .map((s) => Number(s.trim()));
      // A tenant may register at most 20 endpoints.
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 20))
        fail(PROGRAM, '--endpoints must be a comma-separated list of integers in 1..20');
      options.endpoints = [...new Set(list)];
    },
  });
  return options;
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  const requests = options.requests ?? (options.quick ? QUICK_REQUESTS : DEFAULT_REQUESTS);
  const runLimit = options.quick ? QUICK_RUN_LIMIT_SECONDS : RUN_LIMIT_SECONDS;
  limitRun(runLimit);

  const info = startRun(PROGRAM, argv);
  const receiver = await startWebhookReceiver();
  const scenarios: ScenarioResult[] = [];
  const baselines: BaselineRow[] = [];
  try {
    log(
      `scenarios: ${options.endpoints.map((n) => `${n} endpoint(s)`).join(', ')}; ${requests} requests each; ` +
        `worker WEBHOOK_CONCURRENCY ${DEFAULT_WEBHOOK_CONCURRENCY} (default)`,
    );
    for (const endpoints of options.endpoints) {
      const spec: ScenarioSpec = {
        name: `${endpoints}-endpoint${endpoints === 1 ? '' : 's'}`,
        endpoints,
        requests,
        submitConcurrency: SUBMIT_CONCURRENCY,
        latencyMs: SIM_LATENCY_MS,
        warmup: WARMUP_REQUESTS,
        submitTimeLimitMs: Math.max(60_000, requests * 30),
        deliverTimeLimitMs: DELIVER_TIME_LIMIT_MS,
      };
      const result = await runScenario(spec, receiver);
      scenarios.push(result);

      // Its ceiling, measured right after it (this shared machine's load drifts): as many POSTs as the
      // scenario owed, with the body of one of its deliveries.
      const owed = result.kind === 'ok' ? result.deliveries.expected : spec.requests * spec.endpoints;
      const count = Math.min(Math.max(BASELINE_MIN_POSTS, owed), BASELINE_MAX_POSTS);
      const body =
        receiver.sampleBody() ??
        JSON.stringify({
          type: 'request.completed',
          timestamp: new Date().toISOString(),
          data: { padding: 'x'.repeat(FALLBACK_BODY_BYTES - 80) },
        });
      for (const keepAlive of [false, true]) {
        const name = `${spec.name}/${keepAlive ? 'keep-alive' : 'new-connection'}`;
        log(`baseline ${name}: ${count} POSTs, ${DEFAULT_WEBHOOK_CONCURRENCY} at a time`);
        const row = await runBaseline({
          name,
          after: spec.name,
          receiver,
          body,
          count,
          concurrency: DEFAULT_WEBHOOK_CONCURRENCY,
          keepAlive,
          timeLimitMs: BASELINE_TIME_LIMIT_MS,
        });
        log(`baseline ${name}: ${row.error ?? `${Math.round(row.perSecond ?? 0)} POSTs/s at the receiver`}`);
        baselines.push(row);
      }
    }
  } finally {
    await receiver.close();
  }

  const run: WebhooksRun = {
    info: { ...info(), loadAfter: loadAverage() },
    scenarios,
    baselines,
    settings: {
      requests,
      submitConcurrency: SUBMIT_CONCURRENCY,
      latencyMs: SIM_LATENCY_MS,
      warmup: WARMUP_REQUESTS,
      defaultRequests: DEFAULT_REQUESTS,
      quickRequests: QUICK_REQUESTS,
      runLimitSeconds: RUN_LIMIT_SECONDS,
      quickRunLimitSeconds: QUICK_RUN_LIMIT_SECONDS,
    },
  };
  publish(PROGRAM, options, textReport(run), () => markdownSection(run));
  return scenarios.some((s) => s.kind === 'error') || baselines.some((b) => b.error) ? 1 : 0;
}

runMain(PROGRAM, main);
