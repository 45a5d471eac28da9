import { AGED_PRIORITY, QUEUES, redisKeys } from '@sluice/core';
import { AgingSweeper } from '@sluice/worker';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, type System, startSystem, submit, waitTerminal } from './support/system.js';

describe('priority under backlog', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ workers: 0 });
  });
  afterAll(() => sys?.close());

  it('serves enterprise, then pro, then free; inside a tier high, normal, low; FIFO within a slot', async () => {
    const tenants = {
      enterprise: await sys.createTenant('enterprise'),
      pro: await sys.createTenant('pro'),
      free: await sys.createTenant('free'),
    };
    // Submitted worst-first so that FIFO alone would give the reverse of the expected order.
    const plan = [
      ['free', 'low'],
      ['free', 'normal'],
      ['pro', 'low'],
      ['free', 'high'], // capped to normal for free, after the earlier free normal
      ['pro', 'normal'],
      ['enterprise', 'low'],
      ['pro', 'high'],
      ['enterprise', 'normal'],
      ['enterprise', 'high'],
    ] as const;
    const ids = new Map<string, string>();
    for (const [tier, priority] of plan) {
      const r = await submit(tenants[tier], chat(`${tier}-${priority}`, { priority }));
      ids.set(r.id, `${tier}-${priority}`);
    }

    // BullMQ's own event stream tells the order in which jobs became active.
    const events = new QueueEvents(QUEUES.completions, {
      connection: { host: sys.redis.host, port: sys.redis.port },
      prefix: redisKeys(sys.prefix).bullPrefix,
    });
    await events.waitUntilReady();
    const order: string[] = [];
    events.on('active', ({ jobId }) => order.push(ids.get(jobId) ?? 'unknown'));
    await sys.startWorker({ WORKER_CONCURRENCY: '1' });
    for (const [id, label] of ids) {
      const tier = label.split('-')[0] as keyof typeof tenants;
      expect((await waitTerminal(tenants[tier], id)).status).toBe('completed');
    }
    await new Promise((r) => setTimeout(r, 200));
    await events.close();
    expect(order).toEqual([
      'enterprise-high',
      'enterprise-normal',
      'enterprise-low',
      'pro-high',
      'pro-normal',
      'pro-low',
      'free-normal',
      'free-high',
      'free-low',
    ]);
  });
});

describe('aging survives a failed attempt', () => {
  let sys: System;
  beforeAll(async () => {
    // Each call takes 150 ms, so a backlog of newer work is still queued when the retry comes back.
    sys = await startSystem({ workers: 0, sim: { latencyMs: 150 } });
  });
  afterAll(() => sys?.close());

  it('an aged request whose first attempt fails is retried ahead of newer higher-tier work', async () => {
    const free = await sys.createTenant('free');
    const enterprise = await sys.createTenant('enterprise');
    const old = await submit(free, chat('aged, then a 500 [sim:fail=500x1]', { priority: 'low' }));
    await new Promise((r) => setTimeout(r, 1_500));
    const fresh: string[] = [];
    for (let i = 0; i < 6; i++)
      fresh.push((await submit(enterprise, chat(`vip ${i}`, { priority: 'high' }))).id);
    const { redis, keys, queue, requests, log } = sys.api.deps;
    const aging = new AgingSweeper({ redis, keys, queue, requests, log, maxWaitMs: 1_000, intervalMs: 100 });
    expect(await aging.sweep()).toBe(1);
    expect((await queue.getJob(old.id))?.priority).toBe(AGED_PRIORITY);

    const events = new QueueEvents(QUEUES.completions, {
      connection: { host: sys.redis.host, port: sys.redis.port },
      prefix: redisKeys(sys.prefix).bullPrefix,
    });
    await events.waitUntilReady();
    const order: string[] = [];
    events.on('active', ({ jobId }) => order.push(jobId));
    // The retry's backoff is at most RETRY_BASE_DELAY_MS (20 ms): far shorter than one call.
    await sys.startWorker({ WORKER_CONCURRENCY: '1' });
    const done = await waitTerminal(free, old.id);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
    for (const id of fresh) expect((await waitTerminal(enterprise, id)).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 200));
    await events.close();
    // Activations of the aged request: its failed attempt first, then its retry, which must come
    // back ahead of the enterprise backlog (dropped to the free band it would run last).
    const runs = order.flatMap((id, i) => (id === old.id ? [i] : []));
    expect(runs).toHaveLength(2);
    expect(runs[0]).toBe(0);
    expect(runs[1]).toBeLessThan(order.indexOf(fresh[3] as string));
  });
});

describe('aging an active job', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ sim: { latencyMs: 150 }, workerEnv: { WORKER_CONCURRENCY: '1' } });
  });
  afterAll(() => sys?.close());

  it('a request aged while its failing attempt is in flight keeps the aged place for its retry', async () => {
    const free = await sys.createTenant('free');
    const enterprise = await sys.createTenant('enterprise');
    const events = new QueueEvents(QUEUES.completions, {
      connection: { host: sys.redis.host, port: sys.redis.port },
      prefix: redisKeys(sys.prefix).bullPrefix,
    });
    await events.waitUntilReady();
    const order: string[] = [];
    events.on('active', ({ jobId }) => order.push(jobId));
    // The first attempt takes 3 s and then fails; the worker took it while it was still young.
    const old = await submit(
      free,
      chat('slow, then a 500 [sim:fail=500x1] [sim:latency=3000]', { priority: 'low' }),
    );
    await new Promise((r) => setTimeout(r, 1_300));
    const { redis, keys, queue, requests, log } = sys.api.deps;
    expect(await queue.getJobState(old.id)).toBe('active');
    const fresh: string[] = [];
    for (let i = 0; i < 6; i++)
      fresh.push((await submit(enterprise, chat(`vip ${i}`, { priority: 'high' }))).id);
    // The sweep raises the active job's stored priority; the running attempt holds the old copy.
    const aging = new AgingSweeper({ redis, keys, queue, requests, log, maxWaitMs: 1_000, intervalMs: 100 });
    expect(await aging.sweep()).toBe(1);
    const done = await waitTerminal(free, old.id);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
    for (const id of fresh) expect((await waitTerminal(enterprise, id)).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 200));
    await events.close();
    const runs = order.flatMap((id, i) => (id === old.id ? [i] : []));
    expect(runs).toHaveLength(2);
    expect(runs[1]).toBeLessThan(order.indexOf(fresh[3] as string));
  });
});
