import { redisKeys } from '@sluice/core';
import { Redis } from 'ioredis';
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

describe('submit → queue → worker → poll', () => {
  let sys: System;
  let pro: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    sys = await startSystem();
    pro = await sys.createTenant('pro');
    other = await sys.createTenant('free');
  });
  afterAll(() => sys?.close());

  it('accepts with 202, a request id and a Location, then completes with the upstream answer unchanged', async () => {
    const res = await pro.call('/v1/requests', {
      method: 'POST',
      json: chat('what is the capital of France?', { metadata: { user: 'u1' }, max_tokens: 64 }),
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as RequestJson & { object: string; created_at: number };
    expect(accepted.id).toMatch(/^req_[0-9a-z]{26}$/);
    expect(accepted.object).toBe('request');
    expect(accepted.status).toBe('queued');
    expect(accepted.created_at).toBeGreaterThan(1_700_000_000);
    expect(res.headers.get('location')).toBe(`/v1/requests/${accepted.id}`);

    const done = await waitTerminal(pro, accepted.id);
    expect(done.status).toBe('completed');
    expect(done.response?.choices[0]?.message.content).toContain('Echo: what is the capital of France?');
    expect(done.attempts).toBe(1);
    expect(done.usage?.total_tokens).toBeGreaterThan(0);
    expect(done.metadata).toEqual({ user: 'u1' });
    expect(done.error).toBeNull();
    expect(done.started_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();

    // Memory stays bounded: the finished job is gone from BullMQ, the record keeps no prompt and
    // expires after RESULT_TTL_SECONDS (default 24 h).
    expect(await sys.api.deps.queue.getJob(accepted.id)).toBeUndefined();
    const redis = new Redis(sys.redis.url);
    const key = redisKeys(sys.prefix).request(accepted.id);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
    expect(await redis.hget(key, 'body')).toBeNull();
    await redis.quit();
  });

  it('answers many concurrent requests each with its own answer', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `question number ${i}`);
    const accepted = await Promise.all(texts.map((t) => submit(pro, chat(t))));
    const done = await Promise.all(accepted.map((a) => waitTerminal(pro, a.id)));
    done.forEach((d, i) => {
      expect(d.status).toBe('completed');
      expect(d.response?.choices[0]?.message.content).toContain(`Echo: ${texts[i]} [`);
    });
  });

  it('submit with ?wait holds until the answer and returns 200 with it', async () => {
    const res = await pro.call('/v1/requests?wait=10', { method: 'POST', json: chat('wait for me') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as RequestJson;
    expect(body.status).toBe('completed');
    expect(body.response?.choices[0]?.message.content).toContain('Echo: wait for me');
  });

  it('long polling returns as soon as the request finishes, not at the end of the wait', async () => {
    const a = await submit(pro, chat('slow one [sim:latency=800]'));
    const started = Date.now();
    const res = await pro.call(`/v1/requests/${a.id}?wait=20`);
    const body = (await res.json()) as RequestJson;
    const took = Date.now() - started;
    expect(body.status).toBe('completed');
    expect(took).toBeLessThan(10_000);
  });

  it('while unfinished, polling carries Retry-After and an estimate; the wait ends after N seconds', async () => {
    const a = await submit(pro, chat('very slow [sim:latency=4000]'));
    const started = Date.now();
    const res = await pro.call(`/v1/requests/${a.id}?wait=1`);
    const body = (await res.json()) as RequestJson;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(['queued', 'in_progress']).toContain(body.status);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(body).toHaveProperty('estimated_completion_at');
    expect((await waitTerminal(pro, a.id)).status).toBe('completed');
  });

  it('rejects wait above the maximum with a 400 naming the parameter', async () => {
    const a = await submit(pro, chat('x'));
    const res = await pro.call(`/v1/requests/${a.id}?wait=31`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string } };
    expect(body.error.param).toBe('wait');
  });

  it('keeps tenants apart: another tenant sees 404 for the id and cannot cancel it', async () => {
    const a = await submit(pro, chat('private to pro'));
    const peek = await other.call(`/v1/requests/${a.id}`);
    expect(peek.status).toBe(404);
    const body = (await peek.json()) as { error: { code: string; type: string } };
    expect(body.error.code).toBe('not_found');
    expect((await other.call(`/v1/requests/${a.id}/cancel`, { method: 'POST' })).status).toBe(404);
    expect((await pro.call(`/v1/requests/${a.id}`)).status).toBe(200);
  });

  it('caps priority to what the tier allows', async () => {
    const free = await submit(other, chat('free wants high', { priority: 'high' }));
    expect(free.priority).toBe('normal');
    const proHigh = await submit(pro, chat('pro wants high', { priority: 'high' }));
    expect(proHigh.priority).toBe('high');
  });
});

describe('completion estimate under a backlog', () => {
  let sys: System;
  let tenant: TestTenant;

  beforeAll(async () => {
    // Its own system, so the fleet's recent throughput is exactly what this test completes.
    sys = await startSystem();
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it('a queued request behind others gets a non-null estimate that grows with its queue position', async () => {
    const COMPLETED = 12;
    const done = await Promise.all(
      Array.from({ length: COMPLETED }, async (_, i) =>
        waitTerminal(tenant, (await submit(tenant, chat(`warm ${i}`))).id),
      ),
    );
    expect(done.every((d) => d.status === 'completed')).toBe(true);
    // Throughput is measured over finished 10-second buckets: wait until the current one has closed.
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() % 10_000) + 100));

    // No worker from here on: a backlog of 10, in submission order (one tier, one priority).
    await sys.workers[0]?.close();
    sys.workers.splice(0);
    const BACKLOG = 10;
    const queued: string[] = [];
    for (let i = 0; i < BACKLOG; i++) queued.push((await submit(tenant, chat(`backlog ${i}`))).id);

    const nowSeconds = Date.now() / 1000;
    const views = await Promise.all(
      queued.map(async (id) => {
        const res = await tenant.call(`/v1/requests/${id}`);
        return {
          body: (await res.json()) as RequestJson,
          retryAfter: Number(res.headers.get('retry-after')),
        };
      }),
    );
    const etas = views.map((v) => {
      expect(v.body.status).toBe('queued');
      expect(v.body.estimated_completion_at).not.toBeNull();
      expect(v.retryAfter).toBeGreaterThanOrEqual(1);
      expect(v.retryAfter).toBeLessThanOrEqual(30);
      return v.body.estimated_completion_at as number;
    });
    // 12 completions in the last minute is 0.2 per second: the last of 10 is about 50 s away, the
    // first about 5 s. Plausible, not exact: a few seconds of slack for clocks and rounding.
    const last = etas[BACKLOG - 1] as number;
    const first = etas[0] as number;
    expect(last - nowSeconds).toBeGreaterThan(40);
    expect(last - nowSeconds).toBeLessThan(60);
    expect(first - nowSeconds).toBeGreaterThan(0);
    expect(first - nowSeconds).toBeLessThan(10);
    for (let i = 1; i < BACKLOG; i++) expect(etas[i]).toBeGreaterThan(etas[i - 1] as number);
    expect(views[BACKLOG - 1]?.retryAfter).toBeGreaterThan(views[0]?.retryAfter as number);
  });
});
