/**
 * The processes of one `pnpm bench:webhooks` scenario: a fresh redis-server, the upstream simulator
 * (no rate limits), the API and one worker, each a child process (`node --import tsx apps/<app>/src/main.ts`)
 * on a free 127.0.0.1 port. Like bench/lib/stack.ts, but with the webhook settings both processes need
 * (the benchmark's receiver is on 127.0.0.1, which the SSRF guard refuses unless told otherwise).
 */
import {
  getFreePort,
  type ProcessHandle,
  type RedisServerHandle,
  randomPrefix,
  startProcess,
  startRedis,
} from '@sluice/testkit';
import { Redis } from 'ioredis';
import { ADMIN_TOKEN, type Tier, UPSTREAM_API_KEY } from './config.js';
import type { Tenant } from './stack.js';
import { parsePrometheus, type Sample } from './stats.js';

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** API environment (on top of REDIS_URL, SLUICE_PREFIX, ADMIN_TOKEN, HOST, PORT). */
export const WEBHOOK_API_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SHUTDOWN_TIMEOUT_MS: '2000',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
};

/**
 * Worker environment (on top of REDIS_URL, SLUICE_PREFIX, ADMIN_TOKEN, HOST, PORT, OPENAI_BASE_URL,
 * OPENAI_API_KEY). The webhook knobs are set empty, which the worker reads as unset: whatever the shell
 * exports, the run uses their defaults (WEBHOOK_CONCURRENCY 50, WEBHOOK_TIMEOUT_MS 15000, the default
 * retry schedule). Everything else is at its default too, except logging and the teardown drain.
 */
export const WEBHOOK_WORKER_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SHUTDOWN_TIMEOUT_MS: '2000',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_CONCURRENCY: '',
  WEBHOOK_TIMEOUT_MS: '',
  WEBHOOK_RETRY_SCHEDULE_MS: '',
  WORKER_CONCURRENCY: '',
};

/** The worker's default `WEBHOOK_CONCURRENCY` (apps/worker/src/config.ts), which this benchmark runs with. */
export const DEFAULT_WEBHOOK_CONCURRENCY = 50;

interface App {
  handle: ProcessHandle;
  url: string;
  stopping: boolean;
  unexpectedExit?: string;
}

async function startApp(
  name: string,
  app: string,
  env: Record<string, string>,
  readyPath: string,
): Promise<App> {
  for (let attempt = 1; ; attempt++) {
    const port = await getFreePort();
    try {
      const handle = await startProcess({
        name,
        command: process.execPath,
        args: ['--import', 'tsx', `apps/${app}/src/main.ts`],
        env: { ...env, HOST, PORT: String(port) },
        readyUrl: `http://${HOST}:${port}${readyPath}`,
        readyTimeoutMs: READY_TIMEOUT_MS,
      });
      const started: App = { handle, url: `http://${HOST}:${port}`, stopping: false };
      void handle.exited.then(({ code, signal }) => {
        if (!started.stopping) started.unexpectedExit = `exited early (code ${code}, signal ${signal})`;
      });
      return started;
    } catch (err) {
      const collided = err instanceof Error && /EADDRINUSE|address already in use/i.test(err.message);
      if (!collided || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function stopApp(app: App | undefined): Promise<void> {
  if (!app) return;
  app.stopping = true;
  await app.handle.stop(STOP_TIMEOUT_MS);
}

export interface WebhookStack {
  apiUrl: string;
  workerUrl: string;
  /** The simulator's OpenAI base URL. */
  simBaseURL: string;
  createTenant(name: string, tier: Tier): Promise<Tenant>;
  /** One scrape of the worker's /metrics (empty when it does not answer). */
  workerMetrics(): Promise<Sample[]>;
  /** Process ids of the worker, the API, the simulator and redis-server (when known), for CPU accounting. */
  pids: Record<string, number>;
  /** The last `lines` lines a process wrote (LOG_LEVEL=warn: warnings and errors only). */
  output(name: 'api' | 'worker' | 'upstream-sim', lines: number): string[];
  /** Processes that died on their own, with their last output. */
  problems(): string[];
  stop(): Promise<void>;
}

/** redis-server's pid, from INFO (undefined for the Docker fallback or when it does not answer). */
async function redisPid(handle: RedisServerHandle): Promise<number | undefined> {
  if (handle.kind !== 'process') return undefined;
  const client = new Redis(handle.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const pid = /process_id:(\d+)/.exec(await client.info('server'))?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Starts Redis, the simulator (no limits, `latencyMs`), the API and one worker. Stops what it started on error. */
export async function startWebhookStack(latencyMs: number): Promise<WebhookStack> {
  const apps: App[] = [];
  let sim: App | undefined;
  let redis: RedisServerHandle | undefined;
  const stop = async () => {
    // API and worker first (the worker finishes deliveries in flight), then the simulator, then Redis.
    await Promise.all(apps.map((a) => stopApp(a)));
    await stopApp(sim);
    await redis?.stop();
  };
  try {
    // Started side by side; whatever did start is stopped again if the other failed.
    const [simStarted, redisStarted] = await Promise.allSettled([
      startApp(
        'upstream-sim',
        'upstream-sim',
        {
          LOG_LEVEL: 'warn',
          SIM_RPM: '0',
          SIM_TPM: '0',
          SIM_LATENCY_MS: String(latencyMs),
          SIM_LATENCY_JITTER_MS: '0',
          SIM_ERROR_RATE: '0',
          SIM_HANG_RATE: '0',
          SIM_MALFORMED_RATE: '0',
          SIM_TRUNCATED_RATE: '0',
          SIM_API_KEY: '',
        },
        '/healthz',
      ),
      startRedis(),
    ]);
    if (simStarted.status === 'fulfilled') sim = simStarted.value;
    if (redisStarted.status === 'fulfilled') redis = redisStarted.value;
    if (simStarted.status === 'rejected') throw simStarted.reason;
    if (redisStarted.status === 'rejected') throw redisStarted.reason;
    const simApp = simStarted.value;
    const simBaseURL = `${simApp.url}/v1`;
    const shared = {
      REDIS_URL: redisStarted.value.url,
      SLUICE_PREFIX: randomPrefix('bench-webhooks'),
      ADMIN_TOKEN,
    };
    const started = await Promise.allSettled([
      startApp('api', 'api', { ...shared, ...WEBHOOK_API_ENV }, '/readyz'),
      startApp(
        'worker',
        'worker',
        { ...shared, ...WEBHOOK_WORKER_ENV, OPENAI_BASE_URL: simBaseURL, OPENAI_API_KEY: UPSTREAM_API_KEY },
        '/readyz',
      ),
    ]);
    for (const s of started) if (s.status === 'fulfilled') apps.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [api, worker] = apps as [App, App];
    const pids: Record<string, number> = {
      worker: worker.handle.pid,
      api: api.handle.pid,
      simulator: simApp.handle.pid,
    };
    const redisProcess = await redisPid(redisStarted.value);
    if (redisProcess !== undefined) pids.redis = redisProcess;

    return {
      apiUrl: api.url,
      workerUrl: worker.url,
      simBaseURL,
      pids,
      async createTenant(name, tier) {
        const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
        const signal = AbortSignal.timeout(10_000);
        const tenant = await json<{ id: string }>(
          await fetch(`${api.url}/admin/tenants`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ name, tier }),
            signal,
          }),
          'POST /admin/tenants',
        );
        const key = await json<{ key: string }>(
          await fetch(`${api.url}/admin/tenants/${tenant.id}/keys`, { method: 'POST', headers, signal }),
          'POST /admin/tenants/{id}/keys',
        );
        return { id: tenant.id, tier, key: key.key };
      },
      async workerMetrics() {
        try {
          const res = await fetch(`${worker.url}/metrics`, {
            headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
            signal: AbortSignal.timeout(10_000),
          });
          return res.ok ? parsePrometheus(await res.text()) : [];
        } catch {
          return [];
        }
      },
      output(name, lines) {
        const app = [sim, ...apps].find((a) => a?.handle.name === name);
        return (app?.handle.output() ?? '').split('\n').filter(Boolean).slice(-lines);
      },
      problems() {
        return [sim, ...apps]
          .filter((a): a is App => a?.unexpectedExit !== undefined)
          .map(
            (a) =>
              `${a.handle.name} ${a.unexpectedExit}\n${a.handle.output().split('\n').slice(-20).join('\n')}`,
          );
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
