/**
 * The baseline sender of `pnpm bench:webhooks`, run as its own process (as Sluice's worker is) by
 * bench/lib/webhooks-baseline.ts: POSTs the same body `count` times to the receiver with at most
 * `concurrency` in flight, each signed afresh with `standardwebhooks` like a real delivery, with plain
 * node:http: one connection per POST (`agent: false`, as the worker's postWebhook does) or keep-alive,
 * after `warmup` unmeasured POSTs to another path.
 * Reads its settings as JSON from BENCH_WEBHOOKS_SENDER and prints one JSON line with the outcome.
 */
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface SenderSettings {
  url: string;
  /** Where the unmeasured warm-up POSTs go (a path the receiver does not count). */
  warmupUrl: string;
  warmup: number;
  body: string;
  secret: string;
  count: number;
  concurrency: number;
  keepAlive: boolean;
  /** Stop starting new POSTs after this long, ms. */
  timeLimitMs: number;
}

export interface SenderResult {
  sent: number;
  ok: number;
  /** Failures by code (http_<status> or the socket error's code). */
  failed: Record<string, number>;
  /** First POST sent → last answer, s. */
  seconds: number;
  /** Each POST's time to its answer, ms (sorted). */
  latencyMs: number[];
}

const TIMEOUT_MS = 15_000;

function post(
  url: string,
  settings: SenderSettings,
  webhook: Webhook,
  agent: http.Agent | false,
  id: string,
): Promise<string> {
  const now = new Date();
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, now, settings.body),
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(settings.body)),
    'user-agent': 'bench-webhooks-baseline',
  };
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers, agent, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : `http_${res.statusCode}`));
      res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'response_error'));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(settings.body);
  });
}

async function run(settings: SenderSettings): Promise<SenderResult> {
  const webhook = new Webhook(settings.secret);
  const agent = settings.keepAlive
    ? new http.Agent({ keepAlive: true, maxSockets: settings.concurrency })
    : false;
  const result: SenderResult = { sent: 0, ok: 0, failed: {}, seconds: 0, latencyMs: [] };
  // Warm-up, not measured: the sender's and the receiver's code paths get compiled first.
  let warm = 0;
  const warmLane = async () => {
    while (warm < settings.warmup)
      await post(settings.warmupUrl, settings, webhook, agent, `msg_warmup_${warm++}`);
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.warmup) }, warmLane));
  const started = performance.now();
  const stopAt = started + settings.timeLimitMs;
  let next = 0;
  const lane = async () => {
    while (next < settings.count && performance.now() < stopAt) {
      const i = next++;
      result.sent++;
      const t = performance.now();
      const outcome = await post(settings.url, settings, webhook, agent, `msg_baseline_${i}`);
      result.latencyMs.push(performance.now() - t);
      if (outcome === 'ok') result.ok++;
      else result.failed[outcome] = (result.failed[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.count) }, lane));
  result.seconds = (performance.now() - started) / 1000;
  result.latencyMs.sort((a, b) => a - b);
  if (agent) agent.destroy();
  return result;
}

const raw = process.env.BENCH_WEBHOOKS_SENDER;
if (!raw) {
  process.stderr.write('webhooks-sender: BENCH_WEBHOOKS_SENDER is not set (run by bench/webhooks.ts)\n');
  process.exit(2);
}
run(JSON.parse(raw) as SenderSettings).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`webhooks-sender failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
