import { RequestStore, redisKeys } from '@sluice/core';
import { startRedis, waitFor } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker } from './support/processes.js';
import { type Receiver, startReceiver } from './support/receiver.js';
import { chat, type System, startSystem, submit, type TestTenant, waitTerminal } from './support/system.js';

interface DeliveryJson {
  status: string;
  attempts: number;
  error: string | null;
  attempt_log: { at: number; status_code: number | null; error: string | null }[];
}

const deliveries = async (t: TestTenant, endpointId: string) =>
  ((await (await t.call(`/v1/webhooks/${endpointId}/deliveries`)).json()) as { data: DeliveryJson[] }).data;

describe('webhook delivery rules', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    sys = await startSystem({
      apiEnv: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
      workerEnv: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE_MS: '0,200,400' },
    });
  });
  afterAll(async () => {
    await sys?.close();
    await rx?.close();
  });

  const register = async (t: TestTenant, path: string) =>
    (await (await t.call('/v1/webhooks', { method: 'POST', json: { url: rx.url(path) } })).json()) as {
      id: string;
      secret: string;
    };

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
    rx = await startReceiver();
    sys = await startSystem({
      redis: await redisAof,
      workers: 0,
      apiEnv: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
  });
  afterAll(async () => {
    await sys?.close();
    await rx?.close();
    await (await redisAof).stop();
  });

  it('an event whose dispatch was never queued is sent by the outbox sweep', async () => {
    const t = await sys.createTenant('pro');
    const ep = (await (
      await t.call('/v1/webhooks', { method: 'POST', json: { url: rx.url('/outbox') } })
    ).json()) as {
      secret: string;
    };
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
    const got = rx.at('/outbox')[0];
    const event = new Webhook(ep.secret).verify(got?.body ?? '', {
      'webhook-id': String(got?.headers['webhook-id']),
      'webhook-timestamp': String(got?.headers['webhook-timestamp']),
      'webhook-signature': String(got?.headers['webhook-signature']),
    }) as { type: string; data: { id: string } };
    expect(event).toMatchObject({ type: 'request.failed', data: { id } });
    await w.close();
    sys.workers.splice(0);
  });

  it('a delivery pending when the worker is SIGKILLed and Redis restarts (AOF) still arrives, same webhook-id', async () => {
    const t = await sys.createTenant('pro');
    await t.call('/v1/webhooks', { method: 'POST', json: { url: rx.url('/durable') } });
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
      await waitFor(() => rx.at('/durable').length >= 2, {
        timeoutMs: 30_000,
        message: 'the delivery never arrived after the restarts',
      });
      const ids = new Set(rx.at('/durable').map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
    } finally {
      await b.stop();
    }
  });
});

describe('SSRF at delivery time', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    // Registration allowed the loopback URL (as if its name resolved to a public address then);
    // the worker checks the address it actually connects to, as after a DNS rebinding.
    sys = await startSystem({
      apiEnv: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
      workerEnv: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false', WEBHOOK_RETRY_SCHEDULE_MS: '0,100' },
    });
  });
  afterAll(async () => {
    await sys?.close();
    await rx?.close();
  });

  it('refuses to connect to a private address and says why in the delivery log', async () => {
    const t = await sys.createTenant('pro');
    const ep = (await (
      await t.call('/v1/webhooks', { method: 'POST', json: { url: rx.url('/private') } })
    ).json()) as {
      id: string;
    };
    await submit(t, chat('should never reach loopback'));
    await waitFor(async () => (await deliveries(t, ep.id))[0]?.status === 'failed', { timeoutMs: 15_000 });
    expect(rx.at('/private')).toHaveLength(0);
    expect((await deliveries(t, ep.id))[0]?.error).toMatch(/loopback|private|blocked/i);
  });
});
