/**
 * `pnpm start`: the whole system on laptop defaults, in one terminal.
 * - uses REDIS_URL if it answers, else starts a local redis-server (or says how to get one);
 * - starts the API and one worker;
 * - without OPENAI_API_KEY, starts the upstream simulator and points the worker at it, loudly;
 * - creates a development tenant and prints its API key and a curl that returns a completed answer.
 * Ctrl-C stops everything it started.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env };
const children: { name: string; proc: ChildProcess }[] = [];
let stopping = false;

const say = (msg: string) => process.stdout.write(`[sluice] ${msg}\n`);

function banner(lines: string[]) {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const bar = '#'.repeat(width);
  process.stdout.write(`\n${bar}\n${lines.map((l) => `# ${l.padEnd(width - 4)} #`).join('\n')}\n${bar}\n\n`);
}

/** Runs a TypeScript entry point with node + the tsx loader, so signals reach the app itself. */
const node = (entry: string) => [process.execPath, ['--import', 'tsx', entry]] as const;

/**
 * Starts a child. `detached` puts it in a process group of its own, so that Ctrl-C in the terminal
 * (SIGINT to the whole foreground group) does not reach it: Redis must outlive the API and the worker,
 * or their drain would wait on a server that is already gone. We stop such a child ourselves, last.
 */
function run(
  name: string,
  command: string,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
  detached = false,
) {
  const proc = spawn(command, args, {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => `[${name}] ${line}\n`)
      .join('');
  proc.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
  proc.stderr?.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
  proc.on('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited unexpectedly (code ${code}, signal ${signal}); stopping everything.`);
    void shutdown(1);
  });
  children.push({ name, proc });
  return proc;
}

/** Sends SIGTERM and waits for the exit, with SIGKILL after `graceMs`. */
function stop({ name, proc }: { name: string; proc: ChildProcess }, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const started = Date.now();
  proc.kill('SIGTERM');
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      say(`${name} did not stop within ${graceMs} ms; killing it`);
      proc.kill('SIGKILL');
    }, graceMs);
    proc.once('exit', () => {
      clearTimeout(t);
      say(`${name} stopped (${Date.now() - started} ms)`);
      resolve();
    });
  });
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping...');
  // The API stops accepting while the worker finishes its in-flight jobs; both need the simulator
  // and Redis until they are done, so those stop last. Each process bounds its own drain.
  const apps = children.filter((c) => c.name === 'api' || c.name === 'worker');
  await Promise.all(apps.map((c) => stop(c, 45_000)));
  await Promise.all(children.filter((c) => !apps.includes(c)).map((c) => stop(c, 10_000)));
  process.exit(code);
}

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_500,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function waitReady(url: string, name: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not become ready at ${url} within ${timeoutMs} ms`);
}

async function ensureRedis(): Promise<void> {
  const url = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  env.REDIS_URL = url;
  if (await redisAnswers(url)) {
    say(`Redis: using ${url}`);
    return;
  }
  const bin = env.REDIS_SERVER_BIN ?? 'redis-server';
  if (spawnSync(bin, ['--version']).status !== 0) {
    banner([
      `Redis is not reachable at ${url} and no redis-server binary was found.`,
      'Install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),',
      'or start one with Docker: docker compose up -d redis,',
      'or point REDIS_URL at a running Redis, then run pnpm start again.',
    ]);
    process.exit(1);
  }
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1'].includes(hostname)) {
    say(`Redis at ${url} does not answer and is not local; refusing to start one in its place.`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  say(`Redis: not running at ${url}; starting a local redis-server (AOF on, data in ${dir})`);
  const redisPort = port || '6379';
  const redis = run(
    'redis',
    bin,
    [
      '--port',
      redisPort,
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
    ],
    {},
    true,
  );
  // Detached from our process group, so make sure it does not outlive us if we exit abruptly.
  process.on('exit', () => {
    if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGTERM');
  });
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url))) {
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(0));
  await ensureRedis();

  if (!env.ADMIN_TOKEN) {
    env.ADMIN_TOKEN = `adm_${randomBytes(24).toString('base64url')}`;
    say('ADMIN_TOKEN was unset; generated one for this run (shown below).');
  }

  if (!env.OPENAI_API_KEY) {
    const simPort = env.SIM_PORT ?? '8787';
    env.OPENAI_API_KEY = 'sk-simulator';
    env.OPENAI_BASE_URL = `http://127.0.0.1:${simPort}/v1`;
    banner([
      'OPENAI_API_KEY is not set: using the LOCAL UPSTREAM SIMULATOR, not OpenAI.',
      `Answers are deterministic echoes from ${env.OPENAI_BASE_URL}.`,
      'Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL) to call a real upstream.',
    ]);
    run('sim', ...node('apps/upstream-sim/src/main.ts'), { PORT: simPort });
    await waitReady(`http://127.0.0.1:${simPort}/healthz`, 'simulator');
  }

  const apiPort = env.PORT ?? '8080';
  const workerPort = env.WORKER_PORT ?? '8081';
  run('worker', ...node('apps/worker/src/main.ts'), { PORT: workerPort });
  run('api', ...node('apps/api/src/main.ts'), { PORT: apiPort });
  const host = env.HOST && env.HOST !== '0.0.0.0' ? env.HOST : '127.0.0.1';
  const api = `http://${host}:${apiPort}`;
  await waitReady(`${api}/readyz`, 'api');
  await waitReady(`http://${host}:${workerPort}/readyz`, 'worker');

  const admin = { Authorization: `Bearer ${env.ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const tenant = (await (
    await fetch(`${api}/admin/tenants`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'development', tier: 'pro' }),
    })
  ).json()) as { id: string };
  const key = (await (
    await fetch(`${api}/admin/tenants/${tenant.id}/keys`, { method: 'POST', headers: admin })
  ).json()) as {
    key: string;
  };

  const curl = [
    `curl -s "${api}/v1/requests?wait=30" \\`,
    `  -H "Authorization: Bearer ${key.key}" -H "Content-Type: application/json" \\`,
    `  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, Sluice"}]}'`,
  ];
  process.stdout.write(
    [
      '',
      '==================== Sluice is up ====================',
      `API:         ${api}`,
      `Worker ops:  http://${host}:${workerPort}/metrics`,
      `Tenant:      ${tenant.id} (tier pro)`,
      `API key:     ${key.key}`,
      `ADMIN_TOKEN: ${env.ADMIN_TOKEN}`,
      '',
      'Submit a request and wait for its answer (one call):',
      '',
      ...curl,
      '',
      'Ctrl-C stops everything.',
      '======================================================',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`[sluice] failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  void shutdown(1);
});
