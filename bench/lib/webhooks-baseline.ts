/**
 * The raw HTTP ceiling of the receiver and the loopback: bench/lib/webhooks-sender.ts in its own process
 * POSTs the same body, signed the same way, to the same receiver with the same concurrency as the
 * worker's webhook pool, with nothing but node:http in between. Measured at the receiver, like deliveries.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from '@sluice/testkit';
import { type Summary, summarize } from './stats.js';
import type { WebhookReceiver } from './webhooks-receiver.js';
import type { SenderResult, SenderSettings } from './webhooks-sender.js';

export interface BaselineRow {
  name: string;
  /** The scenario it ran right after (and is the ceiling of). */
  after: string;
  keepAlive: boolean;
  concurrency: number;
  bodyBytes: number;
  sent: number;
  ok: number;
  failed: Record<string, number>;
  /** Requests the receiver got, and how many of their signatures verified. */
  received: number;
  invalid: number;
  /** Receiver side, first → last request, per second (the same definition as deliveries/s). */
  perSecond?: number;
  /** Sender side: each POST's time to its answer. */
  latency: Summary;
  /** Why it did not run, if it did not. */
  error?: string;
}

/** Unmeasured POSTs before each baseline (to a path the receiver does not verify or count). */
const WARMUP_POSTS = 500;
const SENDER = join(repoRoot, 'bench', 'lib', 'webhooks-sender.ts');

/** Arrivals per second from the first to the last of `times` (ms): (n − 1) ÷ (last − first). */
export function ratePerSecond(times: readonly number[]): number | undefined {
  if (times.length < 2) return undefined;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return last > first ? ((times.length - 1) * 1000) / (last - first) : undefined;
}

export async function runBaseline(options: {
  name: string;
  after: string;
  receiver: WebhookReceiver;
  body: string;
  count: number;
  concurrency: number;
  keepAlive: boolean;
  timeLimitMs: number;
}): Promise<BaselineRow> {
  const { receiver, body, count, concurrency, keepAlive, timeLimitMs } = options;
  const path = `/baseline/${options.name}`;
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  receiver.expect(path, secret);
  const settings: SenderSettings = {
    url: receiver.url(path),
    warmupUrl: receiver.url(`${path}/warmup`),
    warmup: WARMUP_POSTS,
    body,
    secret,
    count,
    concurrency,
    keepAlive,
    timeLimitMs,
  };
  const row: BaselineRow = {
    name: options.name,
    after: options.after,
    keepAlive,
    concurrency,
    bodyBytes: Buffer.byteLength(body),
    sent: 0,
    ok: 0,
    failed: {},
    received: 0,
    invalid: 0,
    latency: summarize([]),
  };
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', SENDER],
        {
          cwd: repoRoot,
          env: { ...process.env, BENCH_WEBHOOKS_SENDER: JSON.stringify(settings) },
          // The sender stops starting POSTs at timeLimitMs; this kills it if it hangs anyway.
          timeout: timeLimitMs + 30_000,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, out, errOut) => {
          if (err) reject(new Error(`${err.message.split('\n')[0]} ${errOut.slice(-500)}`.trim()));
          else resolve(out);
        },
      );
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as SenderResult;
    row.sent = result.sent;
    row.ok = result.ok;
    row.failed = result.failed;
    row.latency = summarize(result.latencyMs);
  } catch (err) {
    row.error = (err as Error).message;
  }
  const mine = receiver.receipts.filter((r) => r.path === path);
  row.received = mine.length;
  row.invalid = mine.filter((r) => !r.valid).length;
  row.perSecond = ratePerSecond(mine.map((r) => r.at));
  return row;
}
