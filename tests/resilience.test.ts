import { QUEUES, redisKeys } from '@sluice/core';
import { startSimulator } from '@sluice/upstream-sim';
import { AgingSweeper } from '@sluice/worker';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  chat,
  type System,
  startSystem,
  submit,
  type TestTenant,
  waitTerminal,
} from './support/system.js';

const upstreams = async (sys: System) =>
  (await (
    await fetch(`${sys.api.url}/admin/upstreams`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
  ).json()) as {
    global_concurrency: number;
    data: {
      upstreamId: string;
      model: string;
      limits: { requestsPerMinute: number | null; tokensPerMinute: number | null };
      capacity: { requests: number | null };
      remaining: { requests: number | null; tokens: number | null };
      inFlight: number;
      pausedForMs: number;
      breaker: { state: string; opened: number; consecutiveFailures: number };
      concurrencyLimit: number | null;
    }[];
  };

describe('rate limits: use the budget, never trip it', () => {
  let sys: System;
  let tenant: TestTenant;
  beforeAll(async () => {
    // 600 RPM enforced over 1 s windows (10 per second, bursts of 10), 60k TPM.
    sys = await startSystem({ sim: { rpm: 600, tpm: 60_000, windowMs: 1_000, latencyMs: 100 }, workers: 2 });
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it('a burst of 60 becomes a steady stream with no 429s, across two worker replicas', async () => {
    const started = Date.now();
    const ids = await Promise.all(
      Array.from(
        { length: 60 },
        async (_, i) => (await submit(tenant, chat(`burst ${i}`, { max_tokens: 20 }))).id,
      ),
    );
    // Watch the controller's exposed state while the burst drains.
    let maxInFlight = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const scope = (await upstreams(sys)).data.find((d) => d.model === 'gpt-4o-mini');
        maxInFlight = Math.max(maxInFlight, scope?.inFlight ?? 0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const done = [];
    for (const id of ids) done.push(await waitTerminal(tenant, id));
    sampling = false;
    await sampler;
    for (const d of done) expect(d.status).toBe('completed');
    // Waiting for budget (handed back to the queue, often) is our own pacing: it spends no attempt
    // and never counts against the upstream's health.
    expect(done.map((d) => d.attempts)).toEqual(done.map(() => 1));
    const elapsed = Date.now() - started;
    const stats = sys.sim.stats();
    // 60 requests at 10/s after an initial burst of 10: at least ~5 s, and close to it.
    expect(elapsed).toBeGreaterThanOrEqual(4_500);
    expect(elapsed).toBeLessThan(12_000);
    expect(stats.rateLimited).toBeLessThanOrEqual(1);

    const view = await upstreams(sys);
    const scope = view.data.find((d) => d.model === 'gpt-4o-mini');
    expect(scope?.limits).toEqual({ requestsPerMinute: 600, tokensPerMinute: 60_000 });
    // Inferred from remaining + reset, rounded down so the model never exceeds the real bucket.
    expect(scope?.capacity.requests).toBeGreaterThanOrEqual(9);
    expect(scope?.capacity.requests).toBeLessThanOrEqual(10);
    expect(scope?.concurrencyLimit).toBeGreaterThanOrEqual(1);
    expect(view.global_concurrency).toBeGreaterThanOrEqual(1);
    expect(scope?.breaker).toMatchObject({ state: 'closed', opened: 0, consecutiveFailures: 0 });
    // The exposed state: calls were seen in flight, none is left, the budgets are within capacity.
    expect(maxInFlight).toBeGreaterThanOrEqual(1);
    expect(scope?.inFlight).toBe(0);
    expect(scope?.remaining.requests).toBeGreaterThanOrEqual(0);
    expect(scope?.remaining.requests).toBeLessThanOrEqual(scope?.capacity.requests ?? 0);
    expect(scope?.remaining.tokens).toBeGreaterThanOrEqual(0);
    expect(scope?.pausedForMs).toBeGreaterThanOrEqual(0);
    // Each worker's /metrics carries the same shared state for Prometheus.
    const scrape = async () =>
      (
        await fetch(`${sys.workers[0]?.url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).text();
    // The first scrape already carries them: each gauge reads the shared state as it is collected.
    const metrics = await scrape();
    for (const name of [
      'sluice_ratelimit_concurrency_limit',
      'sluice_ratelimit_in_flight',
      'sluice_ratelimit_remaining_requests',
      'sluice_ratelimit_remaining_tokens',
      'sluice_ratelimit_paused_seconds',
      'sluice_breaker_open',
    ])
      expect(metrics).toMatch(new RegExp(`^${name}\\{[^}]*model="gpt-4o-mini"[^}]*\\} \\d`, 'm'));
  });

  it('a request that can never fit the token limit fails clearly without reaching the upstream', async () => {
    // Token capacity over 1 s windows is 1,000; this asks for 5,000 output tokens.
    const text = 'far too large for the limit';
    const done = await waitTerminal(tenant, (await submit(tenant, chat(text, { max_tokens: 5_000 }))).id);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('request_too_large');
    expect(done.error?.message).toContain('max_tokens');
    expect(sys.sim.calls({ contains: text }).count).toBe(0);
  });
});

describe('circuit breaker and fallback, three worker replicas', () => {
  let sys: System;
  let tenant: TestTenant;
  let backup: Awaited<ReturnType<typeof startSimulator>>;

  beforeAll(async () => {
    backup = await startSimulator();
    process.env.SLUICE_TEST_BACKUP_KEY = 'sk-backup';
    // Three replicas share one breaker per upstream and model.
    sys = await startSystem({
      workers: 3,
      workerEnv: {
        UPSTREAMS: JSON.stringify({ backup: { baseURL: backup.url, apiKeyEnv: 'SLUICE_TEST_BACKUP_KEY' } }),
        MODEL_FALLBACKS: JSON.stringify({ 'gpt-4o': ['backup/gpt-4o-mini'] }),
        BREAKER_CONSECUTIVE_FAILURES: '3',
        BREAKER_COOLDOWN_MS: '60000',
        MAX_ATTEMPTS: '10',
        UPSTREAM_MAX_WAIT_MS: '2000',
      },
      apiEnv: { MAX_ATTEMPTS: '10' },
    });
    tenant = await sys.createTenant('enterprise');
  });
  afterAll(async () => {
    await sys?.close();
    await backup?.close();
  });

  it('opens after consecutive failures, then sends traffic to the fallback, and says who answered', async () => {
    sys.sim.configure({ errorRate: 1 }); // the primary upstream is down
    const ids = await Promise.all(
      Array.from(
        { length: 8 },
        async (_, i) => (await submit(tenant, chat(`needs answering ${i}`, { model: 'gpt-4o' }))).id,
      ),
    );
    for (const id of ids) {
      const done = await waitTerminal(tenant, id);
      expect(done.status).toBe('completed');
      expect(done.response?.choices[0]?.message.content).toContain('Echo: needs answering');
      expect((done as unknown as { served_by: unknown }).served_by).toEqual({
        upstream: 'backup',
        model: 'gpt-4o-mini',
      });
    }
    // The breaker stopped the primary from being hammered: about 3 failures, not 8 x 10 attempts,
    // and not 3 per replica either (the breaker is one, shared by the replicas).
    expect(sys.sim.stats().errors).toBeLessThanOrEqual(6);
    const primary = (await upstreams(sys)).data.find(
      (d) => d.model === 'gpt-4o' && d.upstreamId.startsWith('primary'),
    );
    expect(primary?.breaker).toMatchObject({ state: 'open', opened: 1 });
  });

  it('without a fallback, a request waits while the breaker is open and then fails upstream_unavailable', async () => {
    // gpt-4o-mini on the primary has no fallback; trip its breaker first.
    for (let i = 0; i < 3; i++)
      await waitTerminal(tenant, (await submit(tenant, chat(`trip ${i} [sim:status=500]`))).id);
    const started = Date.now();
    const text = 'nobody can answer this';
    const done = await waitTerminal(tenant, (await submit(tenant, chat(text))).id);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('upstream_unavailable');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(done.attempts).toBeLessThanOrEqual(1);
    expect(sys.sim.calls({ contains: text }).count).toBe(0);
  });
});

describe('half-open recovery, three worker replicas', () => {
  let sys: System;
  let tenant: TestTenant;
  beforeAll(async () => {
    sys = await startSystem({
      workers: 3,
      workerEnv: { BREAKER_CONSECUTIVE_FAILURES: '2', BREAKER_COOLDOWN_MS: '1000', MAX_ATTEMPTS: '2' },
      apiEnv: { MAX_ATTEMPTS: '2' },
    });
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it('after the cooldown one probe goes through; success closes the breaker and traffic flows', async () => {
    sys.sim.configure({ errorRate: 1 });
    const failed = await waitTerminal(tenant, (await submit(tenant, chat('during the outage'))).id);
    expect(failed.status).toBe('failed');
    expect((await upstreams(sys)).data[0]?.breaker.state).toBe('open');
    sys.sim.configure({ errorRate: 0 });
    const ids = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => (await submit(tenant, chat(`after recovery ${i}`))).id),
    );
    for (const id of ids) expect((await waitTerminal(tenant, id)).status).toBe('completed');
    expect((await upstreams(sys)).data[0]?.breaker).toMatchObject({ state: 'closed', opened: 1 });
  });
});

describe('aging', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ workers: 0 });
  });
  afterAll(() => sys?.close());

  it('a request that waited past AGING_MAX_WAIT_MS overtakes newer higher-tier work', async () => {
    const free = await sys.createTenant('free');
    const enterprise = await sys.createTenant('enterprise');
    const old = await submit(free, chat('waiting a long time', { priority: 'low' }));
    await new Promise((r) => setTimeout(r, 1_500));
    const fresh = await Promise.all(
      Array.from(
        { length: 5 },
        async (_, i) => (await submit(enterprise, chat(`vip ${i}`, { priority: 'high' }))).id,
      ),
    );
    const events = new QueueEvents(QUEUES.completions, {
      connection: { host: sys.redis.host, port: sys.redis.port },
      prefix: redisKeys(sys.prefix).bullPrefix,
    });
    await events.waitUntilReady();
    const order: string[] = [];
    events.on('active', ({ jobId }) => order.push(jobId));
    // One aging pass (as a worker runs every AGING_INTERVAL_MS), then a worker drains the queue.
    const { redis, keys, queue, requests, log } = sys.api.deps;
    const aging = new AgingSweeper({ redis, keys, queue, requests, log, maxWaitMs: 1_000, intervalMs: 100 });
    expect(await aging.sweep()).toBe(1);
    await sys.startWorker({ WORKER_CONCURRENCY: '1' });
    expect((await waitTerminal(free, old.id)).status).toBe('completed');
    for (const id of fresh) expect((await waitTerminal(enterprise, id)).status).toBe('completed');
    await events.close();
    expect(order.indexOf(old.id)).toBeLessThan(order.indexOf(fresh[0] as string));
  });
});
