import { redisKeys } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chat,
  type RequestJson,
  type System,
  startSystem,
  submit,
  type TestTenant,
  waitTerminal,
} from './support/system.js';

describe('idempotency and cancellation', () => {
  let sys: System;
  let tenant: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    sys = await startSystem({ workers: 0 });
    tenant = await sys.createTenant('pro');
    other = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it('a double click (same key, same body, concurrently) makes one request and one upstream call', async () => {
    const body = chat('double click [idem-1]');
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        tenant.call('/v1/requests', {
          method: 'POST',
          json: body,
          headers: { 'Idempotency-Key': 'click-1' },
        }),
      ),
    );
    const ids = new Set<string>();
    for (const res of results) {
      expect(res.status).toBe(202);
      ids.add(((await res.json()) as RequestJson).id);
    }
    expect(ids.size).toBe(1);
    const replayed = results.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    expect(replayed).toHaveLength(4);

    const worker = await sys.startWorker();
    const [id] = [...ids];
    expect((await waitTerminal(tenant, id as string)).status).toBe('completed');
    expect(sys.sim.calls({ contains: 'double click [idem-1]' }).count).toBe(1);

    // A later retry with the same key returns the finished request, still without a new call.
    const again = await submit(tenant, body, { 'Idempotency-Key': 'click-1' });
    expect(again.id).toBe(id);
    expect(again.status).toBe('completed');
    expect(sys.sim.calls({ contains: 'double click [idem-1]' }).count).toBe(1);
    await worker.close();
    sys.workers.splice(sys.workers.indexOf(worker), 1);
  });

  it('the same key with a different body is a 422 and enqueues nothing', async () => {
    const first = await submit(tenant, chat('original'), { 'Idempotency-Key': 'click-2' });
    // No worker runs here, so anything enqueued stays visible in the queue and the open index.
    const queued = async () => {
      const counts = await sys.api.deps.queue.getJobCounts('prioritized', 'waiting', 'active', 'delayed');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    };
    const open = () => sys.api.deps.redis.zcard(redisKeys(sys.prefix).openRequests());
    const [queuedBefore, openBefore] = [await queued(), await open()];
    expect(queuedBefore).toBeGreaterThan(0); // the first submission is there
    const res = await tenant.call('/v1/requests', {
      method: 'POST',
      json: chat('changed'),
      headers: { 'Idempotency-Key': 'click-2' },
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; param: string } };
    expect(body.error.code).toBe('idempotency_key_mismatch');
    expect(body.error.param).toBe('Idempotency-Key');
    expect(first.id).toMatch(/^req_/);
    expect(await queued()).toBe(queuedBefore);
    expect(await open()).toBe(openBefore);
    // The key still points at the original request, unchanged.
    const again = await submit(tenant, chat('original'), { 'Idempotency-Key': 'click-2' });
    expect(again.id).toBe(first.id);
    expect(await queued()).toBe(queuedBefore);
  });

  it('keys are scoped per tenant', async () => {
    const a = await submit(tenant, chat('scoped'), { 'Idempotency-Key': 'shared-key' });
    const b = await submit(other, chat('scoped'), { 'Idempotency-Key': 'shared-key' });
    expect(a.id).not.toBe(b.id);
  });

  it('a cancelled queued request never reaches the upstream', async () => {
    const a = await submit(tenant, chat('cancel me [cancel-1]'));
    const res = await tenant.call(`/v1/requests/${a.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const cancelled = (await res.json()) as RequestJson;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.completed_at).not.toBeNull();
    // Cancelling twice is harmless.
    expect((await tenant.call(`/v1/requests/${a.id}/cancel`, { method: 'POST' })).status).toBe(200);

    const control = await submit(tenant, chat('control [cancel-1b]'));
    await sys.startWorker();
    expect((await waitTerminal(tenant, control.id)).status).toBe('completed');
    expect((await waitTerminal(tenant, a.id)).status).toBe('cancelled');
    expect(sys.sim.calls({ contains: 'cancel me [cancel-1]' }).count).toBe(0);
  });

  it('a finished request cannot be cancelled (409) and keeps its state', async () => {
    const a = await submit(tenant, chat('finish first'));
    expect((await waitTerminal(tenant, a.id)).status).toBe('completed');
    const res = await tenant.call(`/v1/requests/${a.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_not_cancellable');
    expect((await waitTerminal(tenant, a.id)).status).toBe('completed');
  });

  it('a held long poll wakes up when the request is cancelled', async () => {
    await sys.api.deps.queue.pause(); // in Redis: no worker fetches (a paused Worker may still hold a fetched job)
    const a = await submit(tenant, chat('cancel while waiting'));
    const started = Date.now();
    const poll = tenant.call(`/v1/requests/${a.id}?wait=20`);
    await new Promise((r) => setTimeout(r, 300));
    await tenant.call(`/v1/requests/${a.id}/cancel`, { method: 'POST' });
    const body = (await (await poll).json()) as RequestJson;
    expect(body.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5_000);
    await sys.api.deps.queue.resume();
  });
});
