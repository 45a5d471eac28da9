import { once } from 'node:events';
import { connect } from 'node:net';
import { RequestStore, redisKeys } from '@sluice/core';
import { getFreePort, startProcess, startRedis, waitFor } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApi, spawnWorker } from './support/processes.js';
import {
  chat,
  type RequestJson,
  type System,
  startSystem,
  submit,
  type TestTenant,
  waitTerminal,
} from './support/system.js';

/**
 * Opens a connection and sends an HTTP request line and headers without the final blank line, so the
 * request is in flight (a draining server must wait for it) until `finish()` completes it.
 */
async function openProbe(baseUrl: string, path: string) {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let raw = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    raw += chunk;
  });
  const closed = once(socket, 'close');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n`);
  return {
    async finish(): Promise<{ status: number; body: string }> {
      socket.write('\r\n');
      await closed;
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), body };
    },
  };
}

const statusOf = async (t: TestTenant, id: string) =>
  ((await (await t.call(`/v1/requests/${id}`)).json()) as RequestJson).status;

describe('process lifecycle: SIGTERM drain, SIGKILL recovery, reconciliation', () => {
  let sys: System;
  let tenant: TestTenant;
  // Short locks so a killed worker's jobs are recovered within seconds, not the 30 s default.
  const fastRecovery = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' };

  beforeAll(async () => {
    sys = await startSystem({ workers: 0 });
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it('SIGTERM: the worker finishes its in-flight jobs, then exits 0', async () => {
    const worker = await spawnWorker(sys.env);
    const ids = await Promise.all(
      [1, 2, 3].map(async (i) => (await submit(tenant, chat(`drain ${i} [sim:latency=1500]`))).id),
    );
    await waitFor(
      async () =>
        (await Promise.all(ids.map((id) => statusOf(tenant, id)))).every((s) => s === 'in_progress'),
      {
        timeoutMs: 10_000,
        message: 'jobs never started',
      },
    );
    const code = await worker.stop(20_000);
    expect(code).toBe(0);
    for (const id of ids) expect(await statusOf(tenant, id)).toBe('completed');
    for (const i of [1, 2, 3]) expect(sys.sim.calls({ contains: `drain ${i} ` }).count).toBe(1);
  });

  it('SIGTERM past the shutdown timeout hands in-flight jobs back without spending an attempt', async () => {
    const worker = await spawnWorker({ ...sys.env, SHUTDOWN_TIMEOUT_MS: '300' });
    const id = (await submit(tenant, chat('too slow to drain [sim:latency=4000]'))).id;
    await waitFor(async () => (await statusOf(tenant, id)) === 'in_progress', { timeoutMs: 10_000 });
    expect(await worker.stop(20_000)).toBe(0);
    expect(await statusOf(tenant, id)).toBe('queued');
    const next = await sys.startWorker();
    const done = await waitTerminal(tenant, id);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
    await next.close();
    sys.workers.splice(0);
  });

  it('SIGKILL: a killed worker loses nothing; another worker completes its jobs', async () => {
    const a = await spawnWorker({ ...sys.env, ...fastRecovery }, 'worker-a');
    const ids = await Promise.all(
      [1, 2, 3, 4].map(async (i) => (await submit(tenant, chat(`killed ${i} [sim:latency=2500]`))).id),
    );
    await waitFor(
      async () =>
        (await Promise.all(ids.map((id) => statusOf(tenant, id)))).every((s) => s === 'in_progress'),
      {
        timeoutMs: 10_000,
      },
    );
    await a.kill();
    const b = await spawnWorker({ ...sys.env, ...fastRecovery }, 'worker-b');
    try {
      for (const id of ids) {
        const done = await waitTerminal(tenant, id, 40_000);
        expect(done.status).toBe('completed');
        expect(done.response?.choices[0]?.message.content).toContain('Echo: killed');
      }
      // At-least-once: each prompt was called by the killed worker and once more by the survivor.
      for (const i of [1, 2, 3, 4])
        expect(sys.sim.calls({ contains: `killed ${i} ` }).count).toBeLessThanOrEqual(2);
    } finally {
      await b.stop();
    }
  });

  it('a job that stalls more than WORKER_MAX_STALLED_COUNT times fails with worker_lost, once', async () => {
    // maxStalledCount 0: the first stall is one too many, so the next worker must fail it, not run it.
    const noStalls = { ...fastRecovery, WORKER_MAX_STALLED_COUNT: '0' };
    const a = await spawnWorker({ ...sys.env, ...noStalls }, 'worker-stalls');
    const id = (await submit(tenant, chat('stalls once [sim:latency=5000]'))).id;
    await waitFor(async () => (await statusOf(tenant, id)) === 'in_progress', { timeoutMs: 10_000 });
    await a.kill();
    const b = await sys.startWorker(noStalls);
    try {
      const done = await waitTerminal(tenant, id, 30_000);
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('worker_lost');
      expect(done.error?.message).toContain('stalled');
      // Exactly one terminal state: the job is failed in BullMQ too (nothing will run it again),
      // the record does not change afterwards, and only the killed worker ever called the upstream.
      expect(await sys.api.deps.queue.getJobState(id)).toBe('failed');
      await new Promise((r) => setTimeout(r, 2_500));
      const later = (await (await tenant.call(`/v1/requests/${id}`)).json()) as RequestJson;
      expect(later.status).toBe('failed');
      expect(later.completed_at).toBe(done.completed_at);
      expect(sys.sim.calls({ contains: 'stalls once ' }).count).toBeLessThanOrEqual(1);
    } finally {
      await b.close();
      sys.workers.splice(0);
    }
  });

  it('the reconciler re-enqueues a stored request whose job never reached the queue', async () => {
    // What an API crash between storing and enqueueing leaves behind: a record with no job.
    const redis = new Redis(sys.redis.url);
    const store = new RequestStore(redis, redisKeys(sys.prefix), {
      resultTtlSeconds: 3600,
      openTtlSeconds: 3600,
      idempotencyTtlSeconds: 3600,
    });
    const id = 'req_0000000000orphan0000000000';
    await store.create({
      id,
      tenantId: tenant.id,
      tier: 'pro',
      model: 'gpt-4o-mini',
      priority: 'normal',
      createdAt: Date.now() - 60_000,
      metadata: {},
      body: chat('orphaned request'),
    });
    await redis.quit();
    const w = await sys.startWorker({ RECONCILE_INTERVAL_MS: '500', RECONCILE_MIN_AGE_MS: '1000' });
    const done = await waitTerminal(tenant, id, 20_000);
    expect(done.status).toBe('completed');
    expect(done.response?.choices[0]?.message.content).toContain('Echo: orphaned request');
    await w.close();
    sys.workers.splice(0);
  });

  it('SIGTERM on the API: held long polls answer, readiness fails, the process exits 0', async () => {
    const api = await spawnApi(sys.env);
    const id = (await submit(tenant, chat('nobody will process me'))).id;
    const poll = fetch(`${api.url}/v1/requests/${id}?wait=25`, {
      headers: { Authorization: `Bearer ${tenant.key}` },
    });
    // A probe that is mid-request when SIGTERM lands (its headers are not finished yet): the server
    // waits for it before exiting, and it is answered after the signal, from the draining process.
    const probe = await openProbe(api.url, '/readyz');
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    api.signal('SIGTERM');
    const res = await poll;
    expect(res.status).toBe(200);
    expect(((await res.json()) as RequestJson).status).toBe('queued');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Still draining (the probe holds it open): readiness fails, so no new traffic is sent here.
    expect(
      await fetch(`${api.url}/readyz`).then(
        (r) => r.status,
        () => 'refused',
      ),
    ).not.toBe(200);
    const ready = await probe.finish();
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('shutting_down');
    expect((await api.exited).code).toBe(0);
  });

  it('SIGTERM after Redis went away first (Ctrl-C reaches every process): API and worker still exit promptly', async () => {
    const redis = await startRedis();
    try {
      const env = { ...sys.env, REDIS_URL: redis.url };
      const [worker, api] = await Promise.all([spawnWorker(env), spawnApi(env)]);
      await redis.kill();
      await new Promise((r) => setTimeout(r, 500)); // both notice the lost connection and start retrying
      const started = Date.now();
      worker.signal('SIGTERM');
      api.signal('SIGTERM');
      const [w, a] = await Promise.all([worker.exited, api.exited]);
      // Nothing was in flight, so neither waits out its drain budget (30 s / 10 s by default).
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(w.code).toBe(0);
      expect(a.code).toBe(0);
    } finally {
      await redis.stop();
    }
  });

  it('SIGTERM on the simulator (pnpm start:sim): it exits 0, and repeated signals do not kill it abruptly', async () => {
    const port = await getFreePort();
    const sim = await startProcess({
      name: 'sim',
      command: process.execPath,
      args: ['--import', 'tsx', 'apps/upstream-sim/src/main.ts'],
      env: { PORT: String(port), LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${port}/healthz`,
    });
    // A supervisor may relay a signal more than once (or Ctrl-C is pressed twice). Keep signalling
    // until the process is gone: a signal landing after the first was handled must not kill it.
    let gone = false;
    void sim.exited.then(() => {
      gone = true;
    });
    const deadline = Date.now() + 3_000;
    while (!gone && Date.now() < deadline) {
      sim.signal('SIGTERM');
      await new Promise((r) => setImmediate(r));
    }
    const exit = await sim.exited;
    expect(exit, sim.output()).toEqual({ code: 0, signal: null });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('a bad setting stops a process with a message naming the variable', async () => {
    for (const app of ['api', 'worker']) {
      const proc = await startProcess({
        name: `bad-${app}`,
        command: process.execPath,
        args: ['--import', 'tsx', `apps/${app}/src/main.ts`],
        env: { ...sys.env, PORT: 'not-a-port', REDIS_URL: 'http://wrong' },
      });
      const exit = await proc.exited;
      expect(exit.code).toBe(78);
      expect(proc.output()).toContain('PORT');
      expect(proc.output()).toContain('REDIS_URL');
    }
  });
});
