/**
 * The processes of `pnpm bench:batch`: the upstream simulator (started by bench/lib/stack.ts's
 * `startStack(limits, 0, false)`, the same code the rate-limit benchmark's baseline uses), a fresh
 * redis-server, the API and one worker, each a child process (`node --import tsx apps/<app>/src/main.ts`)
 * on a free 127.0.0.1 port. The API and the worker are started here rather than by `startStack` because
 * this benchmark needs what that Stack does not expose: a file store shared by both (FILE_STORAGE_DIR),
 * the Redis URL and key prefix (to read a batch's `enqueued` progress), and the process ids (for RSS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getFreePort,
  type ProcessHandle,
  type RedisServerHandle,
  randomPrefix,
  startProcess,
  startRedis,
} from '@sluice/testkit';
import { Redis } from 'ioredis';
import { resolveServingPid } from './batch-proc.js';
import { ADMIN_TOKEN, API_ENV, type Limits, type Tier, UPSTREAM_API_KEY, WORKER_ENV } from './config.js';
import { type Simulator, startStack, type Tenant } from './stack.js';
import { parsePrometheus, type Sample } from './stats.js';

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Settings on top of bench/lib/config.ts's API_ENV / WORKER_ENV. The batch knobs are set empty, which
 * the apps read as unset: whatever the shell exports, the run uses their defaults (batch sweep every
 * 1000 ms, promotion 6 h / 2 h before the 24 h window ends).
 */
export const BATCH_API_ENV: Record<string, string> = { ...API_ENV, FILE_STORAGE: 'local' };
export const BATCH_WORKER_ENV: Record<string, string> = {
  ...WORKER_ENV,
  FILE_STORAGE: 'local',
  BATCH_SWEEP_INTERVAL_MS: '',
  BATCH_PROMOTE_BEFORE_MS: '',
  BATCH_URGENT_BEFORE_MS: '',
};

interface App {
  handle: ProcessHandle;
  url: string;
  port: number;
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
      const started: App = { handle, url: `http://${HOST}:${port}`, port, stopping: false };
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

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** A process whose memory is sampled: the pid that serves the port, and how it was found. */
export interface Measured {
  pid: number;
  /** How the pid was confirmed, e.g. "pid 123 (node --import tsx apps/api/src/main.ts), listens on :4567". */
  how: string;
}

export interface BatchStack {
  sim: Simulator;
  apiUrl: string;
  workerUrl: string;
  /** A client of the benchmark's own Redis (for the batch hash and INFO). */
  redis: Redis;
  /** SLUICE_PREFIX of this run: the batch hash is `<prefix>:batch:<id>`. */
  prefix: string;
  /** The directory API and worker share for files (FILE_STORAGE_DIR). */
  storageDir: string;
  api: Measured;
  worker: Measured;
  redisPid?: number;
  createTenant(name: string, tier: Tier): Promise<Tenant>;
  /** One scrape of a /metrics endpoint (empty when it does not answer). */
  metrics(which: 'api' | 'worker'): Promise<Sample[]>;
  /** The last `lines` lines a process wrote (LOG_LEVEL=warn: warnings and errors only). */
  output(name: 'api' | 'worker', lines: number): string[];
  /** Processes that died on their own, with their last output. */
  problems(): string[];
  stop(): Promise<void>;
}

/** redis-server's pid, from INFO (undefined for the Docker fallback). */
async function redisPidOf(client: Redis, handle: RedisServerHandle): Promise<number | undefined> {
  if (handle.kind !== 'process') return undefined;
  const pid = /process_id:(\d+)/.exec(await client.info('server'))?.[1];
  return pid ? Number(pid) : undefined;
}

/** Starts the simulator with `limits`, Redis, the API and one worker. Stops what it started on error. */
export async function startBatchStack(limits: Limits): Promise<BatchStack> {
  const apps: App[] = [];
  let simStack: Awaited<ReturnType<typeof startStack>> | undefined;
  let redis: RedisServerHandle | undefined;
  let client: Redis | undefined;
  const storageDir = mkdtempSync(join(tmpdir(), 'sluice-bench-batch-files-'));
  const stop = async () => {
    // API and worker first (the worker hands back its jobs), then the simulator, then Redis.
    await Promise.all(apps.map((a) => stopApp(a)));
    await simStack?.stop();
    client?.disconnect();
    await redis?.stop();
    rmSync(storageDir, { recursive: true, force: true });
  };
  try {
    const [simStarted, redisStarted] = await Promise.allSettled([startStack(limits, 0, false), startRedis()]);
    if (simStarted.status === 'fulfilled') simStack = simStarted.value;
    if (redisStarted.status === 'fulfilled') redis = redisStarted.value;
    if (simStarted.status === 'rejected') throw simStarted.reason;
    if (redisStarted.status === 'rejected') throw redisStarted.reason;
    const sim = simStarted.value.sim;
    const redisUrl = redisStarted.value.url;
    const prefix = randomPrefix('bench-batch');
    const shared = { REDIS_URL: redisUrl, SLUICE_PREFIX: prefix, ADMIN_TOKEN, FILE_STORAGE_DIR: storageDir };
    const started = await Promise.allSettled([
      startApp('api', 'api', { ...shared, ...BATCH_API_ENV }, '/readyz'),
      startApp(
        'worker',
        'worker',
        { ...shared, ...BATCH_WORKER_ENV, OPENAI_BASE_URL: sim.baseURL, OPENAI_API_KEY: UPSTREAM_API_KEY },
        '/readyz',
      ),
    ]);
    for (const s of started) if (s.status === 'fulfilled') apps.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [api, worker] = apps as [App, App];
    client = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    const redisPid = await redisPidOf(client, redisStarted.value);

    return {
      sim,
      apiUrl: api.url,
      workerUrl: worker.url,
      redis: client,
      prefix,
      storageDir,
      api: resolveServingPid(api.handle.pid, api.port),
      worker: resolveServingPid(worker.handle.pid, worker.port),
      ...(redisPid !== undefined && { redisPid }),
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
      async metrics(which) {
        try {
          const res = await fetch(`${which === 'api' ? api.url : worker.url}/metrics`, {
            headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
            signal: AbortSignal.timeout(10_000),
          });
          return res.ok ? parsePrometheus(await res.text()) : [];
        } catch {
          return [];
        }
      },
      output(name, lines) {
        const app = apps.find((a) => a.handle.name === name);
        return (app?.handle.output() ?? '').split('\n').filter(Boolean).slice(-lines);
      },
      problems() {
        return apps
          .filter((a) => a.unexpectedExit !== undefined)
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
