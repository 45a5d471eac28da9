/**
 * Starts the processes of one scenario: the simulator, and for Sluice a fresh redis-server, the API and N
 * workers, each a child process (`node --import tsx apps/<app>/src/main.ts`) on a free 127.0.0.1 port.
 */
import {
  getFreePort,
  type ProcessHandle,
  type RedisServerHandle,
  randomPrefix,
  startProcess,
  startRedis,
} from '@sluice/testkit';
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
/** Processes we asked to stop, so their exit is not reported as a crash. */
const stopping = new WeakSet<ProcessHandle>();

interface App {
  handle: ProcessHandle;
  url: string;
  /** Set when the process exited before we asked it to stop. */
  unexpectedExit?: string;
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
        readyTimeoutMs: 60_000,
      });
      const started: App = { handle, url: `http://${HOST}:${port}` };
      void handle.exited.then(({ code, signal }) => {
        if (!stopping.has(handle)) started.unexpectedExit = `exited early (code ${code}, signal ${signal})`;
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
  stopping.add(app.handle);
  await app.handle.stop(10_000);
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
  /** One scrape of every worker's /metrics. */
  workerMetrics(): Promise<Sample[]>;
  /** Processes that died on their own, with their last output. */
  problems(): string[];
  stop(): Promise<void>;
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Starts the simulator (and for `workers > 0` Redis, the API and the workers). Stops what it started on error. */
export async function startStack(limits: Limits, workers: number, sluice: boolean): Promise<Stack> {
  const apps: App[] = [];
  let redis: RedisServerHandle | undefined;
  const stop = async () => {
    // API and workers first (they drain), then the simulator, then Redis (discarded with its data).
    const [simApp, ...rest] = apps;
    await Promise.all(rest.map((a) => stopApp(a)));
    await stopApp(simApp);
    await redis?.stop();
  };
  try {
    const simApp = await startApp(
      'upstream-sim',
      'upstream-sim',
      {
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
      },
      '/healthz',
    );
    apps.push(simApp);
    const sim = await simulatorClient(simApp.url);

    let apiUrl: string | undefined;
    const workerUrls: string[] = [];
    if (sluice) {
      redis = await startRedis();
      const shared = { REDIS_URL: redis.url, SLUICE_PREFIX: randomPrefix('bench'), ADMIN_TOKEN };
      const workerEnv = {
        ...shared,
        ...WORKER_ENV,
        OPENAI_BASE_URL: sim.baseURL,
        OPENAI_API_KEY: UPSTREAM_API_KEY,
      };
      const started = await Promise.all([
        startApp('api', 'api', { ...shared, ...API_ENV }, '/readyz'),
        ...Array.from({ length: workers }, (_, i) =>
          startApp(`worker-${i + 1}`, 'worker', workerEnv, '/readyz'),
        ),
      ]);
      apps.push(...started);
      apiUrl = started[0]?.url;
      workerUrls.push(...started.slice(1).map((a) => a.url));
    }

    return {
      sim,
      apiUrl,
      workerUrls,
      async createTenant(name, tier) {
        if (!apiUrl) throw new Error('createTenant: no API in this scenario');
        const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
        const tenant = await json<{ id: string }>(
          await fetch(`${apiUrl}/admin/tenants`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ name, tier }),
          }),
          'POST /admin/tenants',
        );
        const key = await json<{ key: string }>(
          await fetch(`${apiUrl}/admin/tenants/${tenant.id}/keys`, { method: 'POST', headers }),
          'POST /admin/tenants/{id}/keys',
        );
        return { id: tenant.id, tier, key: key.key };
      },
      async workerMetrics() {
        const texts = await Promise.all(
          workerUrls.map(async (url) => {
            try {
              const res = await fetch(`${url}/metrics`, {
                headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
                signal: AbortSignal.timeout(10_000),
              });
              return res.ok ? await res.text() : '';
            } catch {
              return '';
            }
          }),
        );
        return texts.flatMap(parsePrometheus);
      },
      problems() {
        return apps
          .filter((a) => a.unexpectedExit)
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
