import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { getFreePort, startProcess, startRedis, waitFor } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);

/**
 * The README's quick start: `pnpm start` with no Redis running and no OPENAI_API_KEY brings up Redis,
 * the simulator, the API and a worker, prints an API key and a curl, and that curl returns a
 * completed answer. Ctrl-C (SIGINT) stops everything it started.
 */
describe('pnpm start', () => {
  it('brings the whole system up; the printed curl returns a completed answer; SIGINT stops it all', async () => {
    const [redisPort, apiPort, workerPort, simPort] = await Promise.all([
      getFreePort(),
      getFreePort(),
      getFreePort(),
      getFreePort(),
    ]);
    const env: Record<string, string> = {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`, // nothing listens there: start.ts must start redis-server
      PORT: String(apiPort),
      WORKER_PORT: String(workerPort),
      SIM_PORT: String(simPort),
      OPENAI_API_KEY: '',
      ADMIN_TOKEN: '',
      LOG_LEVEL: 'warn',
    };
    const proc = await startProcess({
      name: 'pnpm-start',
      command: process.execPath,
      args: ['--import', 'tsx', 'scripts/start.ts'],
      env,
      outputLines: 400,
    });
    try {
      await waitFor(() => proc.output().includes('Ctrl-C stops everything'), {
        timeoutMs: 45_000,
        message: 'pnpm start never printed its ready banner',
      });
      const out = proc.output();
      expect(out).toContain('LOCAL UPSTREAM SIMULATOR');
      expect(out).toContain('starting a local redis-server');

      // Run the printed curl exactly as printed (continuation lines joined).
      const lines = out.split('\n');
      const first = lines.findIndex((l) => l.startsWith('curl -s '));
      expect(first).toBeGreaterThan(-1);
      const command = lines
        .slice(first, first + 3)
        .join('\n')
        .replace(/\\\n/g, ' ');
      const { stdout } = await exec('bash', ['-c', command], { timeout: 40_000 });
      const body = JSON.parse(stdout) as {
        status: string;
        response: { choices: { message: { content: string } }[] };
      };
      expect(body.status).toBe('completed');
      expect(body.response.choices[0]?.message.content).toContain('Echo: Hello, Sluice');
    } finally {
      proc.signal('SIGINT');
      const exit = await Promise.race([
        proc.exited,
        new Promise<null>((r) => setTimeout(() => r(null), 50_000)),
      ]);
      expect(exit?.code, `pnpm start did not stop cleanly; its output:\n${proc.output().slice(-6000)}`).toBe(
        0,
      );
    }
    // Everything it started is gone: API, worker, simulator and redis ports are free again.
    for (const port of [apiPort, workerPort, simPort]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  });

  it('uses a Redis that already answers at REDIS_URL, starts none, and leaves it running when stopped', async () => {
    const redis = await startRedis();
    try {
      const [apiPort, workerPort, simPort] = await Promise.all([getFreePort(), getFreePort(), getFreePort()]);
      const proc = await startProcess({
        name: 'pnpm-start-own-redis',
        command: process.execPath,
        args: ['--import', 'tsx', 'scripts/start.ts'],
        env: {
          REDIS_URL: redis.url,
          PORT: String(apiPort),
          WORKER_PORT: String(workerPort),
          SIM_PORT: String(simPort),
          OPENAI_API_KEY: '',
          ADMIN_TOKEN: '',
          LOG_LEVEL: 'warn',
        },
        outputLines: 400,
      });
      try {
        await waitFor(() => proc.output().includes('Ctrl-C stops everything'), {
          timeoutMs: 45_000,
          message: 'pnpm start never printed its ready banner',
        });
        expect(proc.output()).toContain(`Redis: using ${redis.url}`);
        expect(proc.output()).not.toContain('starting a local redis-server');
        // It really uses that Redis: the development tenant it created is stored there.
        const client = new Redis(redis.url);
        try {
          const tenants = await client.keys('*tenants');
          expect(tenants.length).toBeGreaterThan(0);
        } finally {
          client.disconnect();
        }
      } finally {
        proc.signal('SIGINT');
        const exit = await Promise.race([
          proc.exited,
          new Promise<null>((r) => setTimeout(() => r(null), 50_000)),
        ]);
        expect(
          exit?.code,
          `pnpm start did not stop cleanly; its output:\n${proc.output().slice(-6000)}`,
        ).toBe(0);
      }
      // Not ours to stop: the Redis that was already there still answers, with its data.
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      try {
        expect(await client.ping()).toBe('PONG');
        expect((await client.keys('*tenants')).length).toBeGreaterThan(0);
      } finally {
        client.disconnect();
      }
    } finally {
      await redis.stop();
    }
  });

  it('without Redis at REDIS_URL and no redis-server binary, exits non-zero pointing at docker compose', async () => {
    const redisPort = await getFreePort(); // nothing listens there
    const proc = await startProcess({
      name: 'pnpm-start-no-redis',
      command: process.execPath,
      args: ['--import', 'tsx', 'scripts/start.ts'],
      env: {
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        REDIS_SERVER_BIN: '/nonexistent/redis-server',
        OPENAI_API_KEY: '',
        ADMIN_TOKEN: '',
        LOG_LEVEL: 'warn',
      },
    });
    const exit = await Promise.race([
      proc.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 30_000)),
    ]);
    expect(exit, proc.output()).not.toBeNull();
    expect(exit?.code).not.toBe(0);
    expect(exit?.code).not.toBeNull();
    expect(proc.output()).toContain(`Redis is not reachable at redis://127.0.0.1:${redisPort}`);
    expect(proc.output()).toContain('docker compose up -d redis');
    // It stopped before starting anything else.
    expect(proc.output()).not.toContain('LOCAL UPSTREAM SIMULATOR');
  });
});
