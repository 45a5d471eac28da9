/**
 * Starts the processes of one benchmark run: the upstream simulator, and for Sluice a fresh redis-server,
 * the API and N workers, each a child process (`node --import tsx apps/<app>/src/main.ts`) on a free
 * 127.0.0.1 port. Every benchmark starts its processes here; they differ only in the options (limits,
 * environment, key prefix), see bench/lib/webhooks-stack.ts and bench/lib/batch-stack.ts.
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
import {
  ADMIN_TOKEN,
  API_ENV,
  type Limits,
  MAX_TOKENS,
  MODEL,
  PROMPT,
  type Tier,
  UPSTREAM_API_KEY,
  WORKER_ENV,
} from './config.js';
import { parsePrometheus, type Sample, type SimStats } from './stats.js';

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Admin calls and /metrics scrapes give up after this long. */
const CALL_TIMEOUT_MS = 10_000;

interface App {
  handle: ProcessHandle;
  url: string;
  port: number;
  stopping: boolean;
  /** Set when the process exited before we asked it to stop. */
  unexpectedExit?: string;
}

/** A started process: its name (`api`, `worker` or `worker-N`, `upstream-sim`), URL, port and pid. */
export interface StackProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
}

/** Starts `apps/<app>/src/main.ts` on a free port; retries when another process took the port first. */
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

export interface Simulator {
  /** Origin, e.g. http://127.0.0.1:1234 (the OpenAI base URL is `${origin}/v1`). */
  origin: string;
  baseURL: string;
  stats(): Promise<SimStats>;
  reset(): Promise<void>;
  /** Tokens one benchmark request is charged: prompt tokens (read from a real answer) + max_tokens. */
  chargeTokens: number;
}

export interface Tenant {
  id: string;
  tier: Tier;
  key: string;
}

export interface Stack {
  sim: Simulator;
  /** Sluice's API; undefined for the baseline. */
  apiUrl?: string;
  workerUrls: string[];
  createTenant(name: string, tier: Tier): Promise<Tenant>;
  /** One scrape of every worker's /metrics (nothing from a worker that does not answer). */
  workerMetrics(): Promise<Sample[]>;
  /** The last `lines` lines process `name` wrote (LOG_LEVEL=warn: warnings and errors only). */
  output(name: string, lines: number): string[];
  /** Processes that died on their own, with their last output. */
  problems(): string[];
  stop(): Promise<void>;
}

/** A stack with Sluice in it: Redis, the API and at least one worker. */
export interface SluiceStack extends Stack {
  apiUrl: string;
  redisUrl: string;
  /** SLUICE_PREFIX of this run. */
  prefix: string;
  /** A started process by name; throws for one that is not in this stack. */
  process(name: string): StackProcess;
  /** redis-server's pid, from INFO (undefined for the Docker fallback or when it does not answer). */
  readRedisPid(): Promise<number | undefined>;
  /** One scrape of the API's /metrics (empty when it does not answer). */
  apiMetrics(): Promise<Sample[]>;
}

export interface SluiceOptions {
  /** Worker processes: one is named `worker`, more are `worker-1` … `worker-N`. */
  workers: number;
  /** API environment (on top of REDIS_URL, SLUICE_PREFIX, ADMIN_TOKEN, HOST, PORT); default API_ENV. */
  apiEnv?: Record<string, string>;
  /** Worker environment (on top of those and OPENAI_BASE_URL, OPENAI_API_KEY); default WORKER_ENV. */
  workerEnv?: Record<string, string>;
  /** More environment for both, e.g. a shared FILE_STORAGE_DIR. */
  env?: Record<string, string>;
  /** Name the run's SLUICE_PREFIX starts with; default `bench`. */
  prefix?: string;
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** One scrape of a /metrics endpoint (empty when it does not answer). */
async function scrape(url: string): Promise<Sample[]> {
  try {
    const res = await fetch(`${url}/metrics`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    return res.ok ? parsePrometheus(await res.text()) : [];
  } catch {
    return [];
  }
}

async function createTenant(apiUrl: string, name: string, tier: Tier): Promise<Tenant> {
  const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
  const tenant = await json<{ id: string }>(
    await fetch(`${apiUrl}/admin/tenants`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name, tier }),
      signal,
    }),
    'POST /admin/tenants',
  );
  const key = await json<{ key: string }>(
    await fetch(`${apiUrl}/admin/tenants/${tenant.id}/keys`, { method: 'POST', headers, signal }),
    'POST /admin/tenants/{id}/keys',
  );
  return { id: tenant.id, tier, key: key.key };
}

async function redisPidOf(handle: RedisServerHandle): Promise<number | undefined> {
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

function simulatorEnv(limits: Limits): Record<string, string> {
  return {
    LOG_LEVEL: 'warn',
    SIM_RPM: String(limits.rpm),
    SIM_TPM: String(limits.tpm),
    SIM_WINDOW_MS: String(limits.windowMs),
    SIM_LATENCY_MS: String(limits.latencyMs),
    SIM_LATENCY_JITTER_MS: '0',
    SIM_ERROR_RATE: '0',
    SIM_HANG_RATE: '0',
    SIM_MALFORMED_RATE: '0',
    SIM_TRUNCATED_RATE: '0',
    SIM_API_KEY: '',
  };
}

/**
 * Starts the simulator with `limits` and, with `sluice`, Redis, the API and the workers. Stops what it
 * started on error.
 */
export async function startStack(limits: Limits, sluice: SluiceOptions): Promise<SluiceStack>;
export async function startStack(limits: Limits, sluice?: SluiceOptions): Promise<Stack>;
export async function startStack(limits: Limits, sluice?: SluiceOptions): Promise<Stack | SluiceStack> {
  let simApp: App | undefined;
  /** The API, then the workers. */
  const apps: App[] = [];
  let redis: RedisServerHandle | undefined;
  const stop = async () => {
    // API and workers first (they drain), then the simulator, then Redis (discarded with its data).
    await Promise.all(apps.map((a) => stopApp(a)));
    await stopApp(simApp);
    await redis?.stop();
  };
  try {
    // Started side by side; whatever did start is stopped again if the other failed.
    const [simStarted, redisStarted] = await Promise.allSettled([
      startApp('upstream-sim', 'upstream-sim', simulatorEnv(limits), '/healthz'),
      sluice ? startRedis() : undefined,
    ]);
    if (simStarted.status === 'fulfilled') simApp = simStarted.value;
    if (redisStarted.status === 'fulfilled') redis = redisStarted.value;
    if (simStarted.status === 'rejected') throw simStarted.reason;
    if (redisStarted.status === 'rejected') throw redisStarted.reason;
    const sim = await simulatorClient(simStarted.value.url);
    const all = () => [simApp, ...apps].filter((a): a is App => a !== undefined);
    const base: Stack = {
      sim,
      workerUrls: [],
      createTenant: async () => {
        throw new Error('createTenant: no API in this scenario');
      },
      workerMetrics: async () => [],
      output(name, lines) {
        const app = all().find((a) => a.handle.name === name);
        return (app?.handle.output() ?? '').split('\n').filter(Boolean).slice(-lines);
      },
      problems() {
        return all()
          .filter((a) => a.unexpectedExit !== undefined)
          .map(
            (a) =>
              `${a.handle.name} ${a.unexpectedExit}\n${a.handle.output().split('\n').slice(-20).join('\n')}`,
          );
      },
      stop,
    };
    const redisServer = redisStarted.value;
    if (!sluice || !redisServer) return base;

    const prefix = randomPrefix(sluice.prefix ?? 'bench');
    const shared = { ...sluice.env, REDIS_URL: redisServer.url, SLUICE_PREFIX: prefix, ADMIN_TOKEN };
    const workerEnv = {
      ...shared,
      ...(sluice.workerEnv ?? WORKER_ENV),
      OPENAI_BASE_URL: sim.baseURL,
      OPENAI_API_KEY: UPSTREAM_API_KEY,
    };
    const workerName = (i: number) => (sluice.workers === 1 ? 'worker' : `worker-${i + 1}`);
    const started = await Promise.allSettled([
      startApp('api', 'api', { ...shared, ...(sluice.apiEnv ?? API_ENV) }, '/readyz'),
      ...Array.from({ length: sluice.workers }, (_, i) =>
        startApp(workerName(i), 'worker', workerEnv, '/readyz'),
      ),
    ]);
    for (const s of started) if (s.status === 'fulfilled') apps.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [api, ...workers] = apps as [App, ...App[]];
    const workerUrls = workers.map((w) => w.url);
    return {
      ...base,
      apiUrl: api.url,
      workerUrls,
      redisUrl: redisServer.url,
      prefix,
      createTenant: (name, tier) => createTenant(api.url, name, tier),
      workerMetrics: async () => (await Promise.all(workerUrls.map(scrape))).flat(),
      apiMetrics: () => scrape(api.url),
      readRedisPid: () => redisPidOf(redisServer),
      process(name) {
        const app = all().find((a) => a.handle.name === name);
        if (!app) throw new Error(`no process ${name} in this stack`);
        return { name, url: app.url, port: app.port, pid: app.handle.pid };
      },
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

async function simulatorClient(origin: string): Promise<Simulator> {
  const baseURL = `${origin}/v1`;
  // One real call tells the prompt's token count; the reset then refills every bucket.
  const probe = await json<{ usage: { prompt_tokens: number } }>(
    await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${UPSTREAM_API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: PROMPT }],
        max_tokens: MAX_TOKENS,
      }),
    }),
    'probe chat completion',
  );
  const sim: Simulator = {
    origin,
    baseURL,
    chargeTokens: probe.usage.prompt_tokens + MAX_TOKENS,
    stats: async () => json<SimStats>(await fetch(`${origin}/_sim/stats`), 'GET /_sim/stats'),
    reset: async () => {
      await json(await fetch(`${origin}/_sim/reset`, { method: 'POST' }), 'POST /_sim/reset');
    },
  };
  await sim.reset();
  return sim;
}
