import { QUEUES, redisKeys } from '@sluice/core';
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
