import { RequestStore, redisKeys } from '@sluice/core';
import { startRedis, waitFor } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker } from './support/processes.js';
import type { Receiver } from './support/receiver.js';
import { chat, type System, submit, type TestTenant, waitTerminal } from './support/system.js';
import {
  type DeliveryJson,
  registerWebhook,
  startWebhookSystem,
  stopWebhookSystem,
  verifyDelivery,
} from './support/webhooks.js';

const deliveries = async (t: TestTenant, endpointId: string) =>
  ((await (await t.call(`/v1/webhooks/${endpointId}/deliveries`)).json()) as { data: DeliveryJson[] }).data;

describe('webhook delivery rules', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({ workerEnv: { WEBHOOK_RETRY_SCHEDULE_MS: '0,200,400' } }));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  const register = (t: TestTenant, path: string) => registerWebhook(t, rx.url(path));

  it('does not follow redirects: a 302 is a failed attempt', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/redirect');
    rx.on('/redirect', (_n, res) => res.writeHead(302, { Location: rx.url('/elsewhere') }).end());
    await submit(t, chat('redirected'));
    await waitFor(async () => (await deliveries(t, ep.id))[0]?.status === 'failed', { timeoutMs: 15_000 });
    expect(rx.at('/redirect')).toHaveLength(3);
    expect(rx.at('/elsewhere')).toHaveLength(0);
    expect((await deliveries(t, ep.id))[0]?.attempt_log.map((a) => a.status_code)).toEqual([302, 302, 302]);
  });

  it.each([429, 503])('honours Retry-After on a %i over the shorter schedule', async (status) => {
    const t = await sys.createTenant('pro');
    const path = `/busy-${status}`;
    await register(t, path);
    rx.on(path, (n, res) =>
      n === 0 ? res.writeHead(status, { 'Retry-After': '2' }).end() : res.writeHead(200).end(),
    );
    await submit(t, chat('come back later'));
    await waitFor(() => rx.at(path).length === 2, { timeoutMs: 15_000 });
    const [first, second] = rx.at(path);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
  });
});

describe('webhooks survive crashes (at least once)', () => {
  let sys: System;
  let rx: Receiver;
  const redisAof = startRedis({ appendOnly: true });

  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({ redis: await redisAof, workers: 0 }));
  });
  afterAll(async () => {
    await stopWebhookSystem(sys, rx);
    await (await redisAof).stop();
  });

  it('an event whose dispatch was never queued is sent by the outbox sweep', async () => {
    const t = await sys.createTenant('pro');
    const ep = await registerWebhook(t, rx.url('/outbox'));
    // What a worker that died right after finishing a request leaves: a terminal record in the
    // outbox, and no dispatch job.
    const redis = new Redis(sys.redis.url);
    const store = new RequestStore(redis, redisKeys(sys.prefix), {
      resultTtlSeconds: 3600,
      openTtlSeconds: 3600,
      idempotencyTtlSeconds: 3600,
    });
    const id = 'req_0000000000outbox00000000000'.slice(0, 30);
    await store.create({
      id,
      tenantId: t.id,
      tier: 'pro',
      model: 'gpt-4o-mini',
      priority: 'normal',
      createdAt: Date.now(),
      metadata: {},
      body: chat('finished by a worker that then died'),
    });
    expect(await store.fail(id, { code: 'worker_lost', message: 'test' })).toBe('ok');
    await redis.quit();
    const w = await sys.startWorker({
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      OUTBOX_SWEEP_INTERVAL_MS: '200',
    });
    await waitFor(() => rx.at('/outbox').length === 1, {
      timeoutMs: 15_000,
      message: 'outbox never dispatched',
    });
    const event = verifyDelivery<{ type: string; data: { id: string } }>(ep.secret, rx.at('/outbox')[0]);
    expect(event).toMatchObject({ type: 'request.failed', data: { id } });
    await w.close();
    sys.workers.splice(0);
  });

  it('a delivery pending when the worker is SIGKILLed and Redis restarts (AOF) still arrives, same webhook-id', async () => {
    const t = await sys.createTenant('pro');
    await registerWebhook(t, rx.url('/durable'));
    let up = false;
    rx.on('/durable', (_n, res) => res.writeHead(up ? 200 : 500).end());
    const env = {
      ...sys.env,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE_MS: '0,1000,2000,3000,4000',
      // Short locks: a delivery in flight in the killed worker moves on within seconds.
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    };
    const a = await spawnWorker(env, 'worker-a');
    const req = await submit(t, chat('must arrive eventually'));
    await waitTerminal(t, req.id);
    await waitFor(() => rx.at('/durable').length >= 1, { timeoutMs: 15_000 });
    await a.kill();
    await sys.redis.kill();
    await sys.redis.restart();
    up = true;
    const b = await spawnWorker(env, 'worker-b');
    try {
      // Usually under 2 s. On a loaded machine (other test files running alongside) recovery has been
      // seen to take about 24 s, cause not yet found; the wait leaves room for that.
      await waitFor(() => rx.at('/durable').length >= 2, {
        timeoutMs: 60_000,
        message: 'the delivery never arrived after the restarts',
      });
      const ids = new Set(rx.at('/durable').map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
    } finally {
      await b.stop();
    }
  }, 90_000);
});

describe('SSRF at delivery time', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    // Registration allowed the loopback URL (as if its name resolved to a public address then);
    // the worker checks the address it actually connects to, as after a DNS rebinding.
    ({ sys, rx } = await startWebhookSystem({
      workerEnv: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false', WEBHOOK_RETRY_SCHEDULE_MS: '0,100' },
    }));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  it('refuses to connect to a private address and says why in the delivery log', async () => {
    const t = await sys.createTenant('pro');
    const ep = await registerWebhook(t, rx.url('/private'));
    await submit(t, chat('should never reach loopback'));
    await waitFor(async () => (await deliveries(t, ep.id))[0]?.status === 'failed', { timeoutMs: 15_000 });
    expect(rx.at('/private')).toHaveLength(0);
    expect((await deliveries(t, ep.id))[0]?.error).toMatch(/loopback|private|blocked/i);
  });
});
