import { waitFor } from '@sluice/testkit';
import OpenAI from 'openai';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receiver } from './support/receiver.js';
import {
  chat,
  type RequestJson,
  type System,
  startSystem,
  submit,
  type TestTenant,
  waitTerminal,
} from './support/system.js';
import {
  type DeliveryJson,
  type EndpointJson,
  registerWebhook,
  signatureHeaders,
  startWebhookSystem,
  stopWebhookSystem,
  verifyDelivery,
} from './support/webhooks.js';

const json = async <T>(res: Response, status = 200): Promise<T> => {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
};

describe('signed webhooks', () => {
  let sys: System;
  let tenant: TestTenant;
  let rx: Receiver;

  const register = (t: TestTenant, path: string, extra: Record<string, unknown> = {}) =>
    registerWebhook(t, rx.url(path), extra);

  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({
      workerEnv: {
        // A 3 s first gap leaves time to see a pending delivery's next_retry_at (whole seconds) ahead.
        WEBHOOK_RETRY_SCHEDULE_MS: '0,3000,3300',
        WEBHOOK_TIMEOUT_MS: '500',
        OUTBOX_SWEEP_INTERVAL_MS: '500',
      },
    }));
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  it('registers endpoints with a whsec_ secret shown once, lists, updates and deletes them', async () => {
    const other = await sys.createTenant('free');
    const created = await register(tenant, '/crud', { description: 'crud test' });
    expect(created.id).toMatch(/^wh_/);
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.events).toContain('request.completed');
    const fetched = await json<EndpointJson>(await tenant.call(`/v1/webhooks/${created.id}`));
    expect(fetched.secret).toBeUndefined();
    expect((await other.call(`/v1/webhooks/${created.id}`)).status).toBe(404);
    const list = await json<{ data: EndpointJson[] }>(await tenant.call('/v1/webhooks'));
    expect(list.data.map((e) => e.id)).toContain(created.id);
    const patched = await json<EndpointJson>(
      await tenant.call(`/v1/webhooks/${created.id}`, {
        method: 'PATCH',
        json: { events: ['request.failed'], enabled: false },
      }),
    );
    expect(patched).toMatchObject({ events: ['request.failed'], enabled: false, disabled_reason: 'manual' });
    await json(await tenant.call(`/v1/webhooks/${created.id}`, { method: 'DELETE' }));
    expect((await tenant.call(`/v1/webhooks/${created.id}`)).status).toBe(404);
  });

  it('delivers request.completed signed per Standard Webhooks; both verifiers accept it, a tampered body fails', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/ok');
    const req = await submit(t, chat('tell my webhook'));
    await waitFor(() => rx.at('/ok').length === 1, { timeoutMs: 15_000, message: 'no delivery' });
    const got = rx.at('/ok')[0];
    if (!got) throw new Error('unreachable');
    const headers = signatureHeaders(got.headers);
    expect(got.headers['content-type']).toBe('application/json');
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    const event = new Webhook(ep.secret as string).verify(got.body, headers) as {
      type: string;
      timestamp: string;
      data: RequestJson;
    };
    expect(event.type).toBe('request.completed');
    expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);
    expect(event.data.id).toBe(req.id);
    expect(event.data.status).toBe('completed');
    expect(event.data.response?.choices[0]?.message.content).toContain('Echo: tell my webhook');
    // The same object polling returns.
    const polled = await waitTerminal(t, req.id);
    expect(event.data.response).toEqual(polled.response);

    const openai = new OpenAI({ apiKey: 'unused' });
    await expect(openai.webhooks.verifySignature(got.body, headers, ep.secret)).resolves.toBeUndefined();
    const tampered = got.body.replace('tell my webhook', 'tell my webhooK');
    expect(() => new Webhook(ep.secret as string).verify(tampered, headers)).toThrow();
    await expect(openai.webhooks.verifySignature(tampered, headers, ep.secret)).rejects.toThrow();
  });

  it('retries a failed delivery with the same webhook-id and a fresh valid signature; the log shows latency and the next retry', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/flaky');
    // The failed attempt takes at least 150 ms, so its latency_ms is measured, not a placeholder.
    rx.on('/flaky', (n, res) => {
      if (n === 0) setTimeout(() => res.writeHead(500).end(), 150);
      else res.writeHead(200).end();
    });
    const deliveryLog = async () =>
      (await json<{ data: DeliveryJson[] }>(await t.call(`/v1/webhooks/${ep.id}/deliveries`))).data;
    await submit(t, chat('flaky receiver'));

    let pending: DeliveryJson | undefined;
    let askedAt = 0;
    await waitFor(
      async () => {
        askedAt = Date.now();
        pending = (await deliveryLog())[0];
        return pending?.attempts === 1;
      },
      { timeoutMs: 15_000, message: 'the failed attempt in the log' },
    );
    expect(pending).toMatchObject({ status: 'pending', status_code: 500, error: 'receiver answered 500' });
    expect(pending?.latency_ms).toBeGreaterThanOrEqual(140);
    expect(pending?.latency_ms).toBeLessThan(3_000);
    expect(pending?.attempt_log[0]?.latency_ms).toBe(pending?.latency_ms);
    // next_retry_at is in whole seconds: ahead of when we asked, and about 3 s after the attempt.
    const next = pending?.next_retry_at ?? 0;
    expect(next * 1000).toBeGreaterThan(askedAt);
    expect(next - (pending?.last_attempt_at ?? 0)).toBeGreaterThanOrEqual(2);
    expect(next - (pending?.last_attempt_at ?? 0)).toBeLessThanOrEqual(5);

    await waitFor(() => rx.at('/flaky').length === 2, { timeoutMs: 15_000, message: 'no retry' });
    const [first, second] = rx.at('/flaky');
    if (!first || !second) throw new Error('unreachable');
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.at - first.at).toBeGreaterThanOrEqual(2_500);
    for (const r of [first, second]) expect(verifyDelivery(ep.secret, r)).toBeTruthy();

    await waitFor(async () => (await deliveryLog())[0]?.status === 'succeeded');
    const [done] = await deliveryLog();
    expect(done).toMatchObject({
      event: 'request.completed',
      status: 'succeeded',
      attempts: 2,
      status_code: 200,
      error: null,
      next_retry_at: null,
    });
    expect(done?.latency_ms).toEqual(expect.any(Number));
    expect(done?.latency_ms).toBeGreaterThanOrEqual(0);
    expect(done?.attempt_log.map((a) => a.status_code)).toEqual([200, 500]);
    expect(done?.attempt_log[1]?.latency_ms).toBe(pending?.latency_ms);
  });

  it('PATCH url moves an endpoint to an allowed URL; a refused URL is a clear 400 and changes nothing', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/patch-old');
    const moved = await json<EndpointJson>(
      await t.call(`/v1/webhooks/${ep.id}`, { method: 'PATCH', json: { url: rx.url('/patch-new') } }),
    );
    expect(moved.url).toBe(rx.url('/patch-new'));
    // Private targets are allowed in this system; metadata, unspecified and non-http ones never are.
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00:ec2::254]/hook',
      'http://0.0.0.0/hook',
      'ftp://example.com/hook',
      'not a url',
    ]) {
      // enabled: false rides along: a refused PATCH must apply none of its fields.
      const res = await t.call(`/v1/webhooks/${ep.id}`, { method: 'PATCH', json: { url, enabled: false } });
      const text = await res.text();
      expect(res.status, `${url}: ${text}`).toBe(400);
      const { error } = JSON.parse(text) as {
        error: { message: string; type: string; param: string | null; code: string };
      };
      expect(error).toMatchObject({ type: 'invalid_request_error', param: 'url', code: 'invalid_request' });
      expect(error.message.length).toBeGreaterThan(15);
    }
    const after = await json<EndpointJson>(await t.call(`/v1/webhooks/${ep.id}`));
    expect(after).toMatchObject({ url: rx.url('/patch-new'), enabled: true });
    // Deliveries follow the move.
    await submit(t, chat('after the move'));
    await waitFor(() => rx.at('/patch-new').length === 1, { timeoutMs: 15_000 });
    expect(rx.at('/patch-old')).toHaveLength(0);
  });

  it('a 410 disables the endpoint, visibly', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/gone');
    rx.on('/gone', (_n, res) => res.writeHead(410).end());
    await submit(t, chat('to a gone receiver'));
    await waitFor(async () => !(await json<EndpointJson>(await t.call(`/v1/webhooks/${ep.id}`))).enabled, {
      timeoutMs: 15_000,
    });
    const after = await json<EndpointJson>(await t.call(`/v1/webhooks/${ep.id}`));
    expect(after.disabled_reason).toBe('gone');
    expect(rx.at('/gone')).toHaveLength(1);
    // Disabled endpoints receive nothing more.
    const next = await submit(t, chat('after it was gone'));
    await waitTerminal(t, next.id);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(rx.at('/gone')).toHaveLength(1);
  });

  it('a hanging receiver times out, is retried on schedule, and the delivery ends failed with the reason', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/hang');
    rx.on('/hang', () => undefined); // never answers
    await submit(t, chat('to a receiver that hangs'));
    await waitFor(
      async () =>
        (await json<{ data: DeliveryJson[] }>(await t.call(`/v1/webhooks/${ep.id}/deliveries`))).data[0]
          ?.status === 'failed',
      { timeoutMs: 20_000, message: 'delivery never gave up' },
    );
    const [d] = (await json<{ data: DeliveryJson[] }>(await t.call(`/v1/webhooks/${ep.id}/deliveries`))).data;
    expect(d?.attempts).toBe(3);
    expect(d?.error).toContain('timed out');
    expect(rx.at('/hang')).toHaveLength(3);

    // A manual retry redelivers the same message.
    rx.on('/hang', (_n, res) => res.writeHead(204).end());
    const retried = await t.call(`/v1/webhooks/deliveries/${d?.id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    await waitFor(() => rx.at('/hang').length === 4, { timeoutMs: 10_000 });
    expect(rx.at('/hang')[3]?.headers['webhook-id']).toBe(d?.webhook_id);
  });

  it("a test event to a failing receiver gets the worker's schedule of attempts, no more", async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/test-fails');
    rx.on('/test-fails', (_n, res) => res.writeHead(500).end());
    const test = await json<DeliveryJson>(
      await t.call(`/v1/webhooks/${ep.id}/test`, { method: 'POST' }),
      202,
    );
    await waitFor(
      async () =>
        (await json<{ data: DeliveryJson[] }>(await t.call(`/v1/webhooks/${ep.id}/deliveries`))).data[0]
          ?.status === 'failed',
      { timeoutMs: 15_000, message: 'the test delivery never gave up' },
    );
    await new Promise((r) => setTimeout(r, 1_500));
    // WEBHOOK_RETRY_SCHEDULE_MS here has three entries: three attempts, all the same message.
    expect(rx.at('/test-fails')).toHaveLength(3);
    expect(new Set(rx.at('/test-fails').map((r) => r.headers['webhook-id']))).toEqual(
      new Set([test.webhook_id]),
    );
  });

  it('after a rotation deliveries carry both signatures; each secret verifies', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/rotate');
    const rotated = await json<EndpointJson & { previous_secrets_expire_at: number }>(
      await t.call(`/v1/webhooks/${ep.id}/rotate-secret`, { method: 'POST' }),
    );
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(ep.secret);
    expect(rotated.previous_secrets_expire_at).toBeGreaterThan(Date.now() / 1000 + 3600);
    await submit(t, chat('signed twice'));
    await waitFor(() => rx.at('/rotate').length === 1, { timeoutMs: 15_000 });
    const got = rx.at('/rotate')[0];
    if (!got) throw new Error('unreachable');
    const headers = signatureHeaders(got.headers);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(ep.secret as string).verify(got.body, headers)).toBeTruthy();
    expect(new Webhook(rotated.secret as string).verify(got.body, headers)).toBeTruthy();
  });

  it('webhook_url sends a request’s events to that endpoint only; an unregistered URL is a 400', async () => {
    const t = await sys.createTenant('pro');
    await register(t, '/a');
    await register(t, '/b');
    const only = await submit(t, { ...chat('just for a'), webhook_url: rx.url('/a') });
    const both = await submit(t, chat('for everyone'));
    await waitTerminal(t, only.id);
    await waitTerminal(t, both.id);
    await waitFor(() => rx.at('/a').length === 2 && rx.at('/b').length === 1, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.at('/b').map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id)).toEqual([
      both.id,
    ]);

    const bad = await t.call('/v1/requests', {
      method: 'POST',
      json: { ...chat('x'), webhook_url: rx.url('/unregistered') },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('webhook_url');
  });

  it('sends request.failed and request.cancelled, honours subscriptions, and sends test events', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/events', { events: ['request.failed', 'request.cancelled'] });
    await submit(t, chat('this will succeed and is not subscribed'));
    const failed = await submit(t, chat('reject me [sim:status=400]'));
    await waitTerminal(t, failed.id);
    await sys.api.deps.queue.pause(); // in Redis: no worker fetches (a paused Worker may still hold a fetched job)
    const queued = await submit(t, chat('cancel me'));
    expect((await t.call(`/v1/requests/${queued.id}/cancel`, { method: 'POST' })).status).toBe(200);
    await sys.api.deps.queue.resume();
    await waitFor(() => rx.at('/events').length === 2, { timeoutMs: 15_000 });
    const types = rx.at('/events').map((r) => (JSON.parse(r.body) as { type: string }).type);
    expect(types.sort()).toEqual(['request.cancelled', 'request.failed']);

    const test = await json<DeliveryJson>(
      await t.call(`/v1/webhooks/${ep.id}/test`, { method: 'POST' }),
      202,
    );
    expect(test.event).toBe('webhook.test');
    await waitFor(() => rx.at('/events').length === 3, { timeoutMs: 10_000 });
    const body = JSON.parse(rx.at('/events')[2]?.body ?? '{}') as { type: string };
    expect(body.type).toBe('webhook.test');
  });
});

describe('webhook endpoints failing for too long', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({
      // "5 days" shrunk to 400 ms so the rule can be seen in a test.
      workerEnv: { WEBHOOK_RETRY_SCHEDULE_MS: '0,300,600,900', WEBHOOK_DISABLE_AFTER_MS: '400' },
    }));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  it('are disabled with reason failing, visible in the API', async () => {
    const t = await sys.createTenant('pro');
    rx.on('/down', (_n, res) => res.writeHead(503).end());
    const ep = await registerWebhook(t, rx.url('/down'));
    await submit(t, chat('nobody is listening'));
    await waitFor(
      async () =>
        (await json<EndpointJson>(await t.call(`/v1/webhooks/${ep.id}`))).disabled_reason === 'failing',
      {
        timeoutMs: 15_000,
      },
    );
    expect(rx.at('/down').length).toBeGreaterThanOrEqual(2);
  });
});

describe('SSRF guard at registration', () => {
  let sys: System;
  let tenant: TestTenant;
  beforeAll(async () => {
    sys = await startSystem({ workers: 0 });
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it.each([
    'http://127.0.0.1/hook',
    'http://localhost:8080/hook',
    'http://10.0.0.5/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.10/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/hook',
    'http://224.0.0.1/hook',
    'http://0.0.0.0/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fd00:ec2::254]/hook',
    'http://[fc00::1]/hook',
    'http://[fe80::1]/hook',
    'http://2130706433/hook',
    'http://0x7f000001/hook',
    'http://0177.0.0.1/hook',
    'http://127.1/hook',
    'ftp://example.com/hook',
    'file:///etc/passwd',
    'http://user:secret@example.com/hook',
    'not a url',
  ])('refuses %s with a clear 400', async (url) => {
    const res = await tenant.call('/v1/webhooks', { method: 'POST', json: { url } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error.param).toBe('url');
    expect(body.error.message.length).toBeGreaterThan(15);
  });

  it('refuses a PATCH to a private URL with a clear 400 and leaves the endpoint unchanged', async () => {
    const created = await tenant.call('/v1/webhooks', {
      method: 'POST',
      json: { url: 'https://93.184.216.34/patch-me' },
    });
    expect(created.status).toBe(201);
    const ep = (await created.json()) as { id: string; url: string };
    for (const url of ['http://127.0.0.1/hook', 'http://10.0.0.5/hook', 'http://[::ffff:127.0.0.1]/hook']) {
      const res = await tenant.call(`/v1/webhooks/${ep.id}`, { method: 'PATCH', json: { url } });
      expect(res.status, url).toBe(400);
      const body = (await res.json()) as {
        error: { type: string; code: string; param: string; message: string };
      };
      expect(body.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'url',
      });
      expect(body.error.message.length).toBeGreaterThan(15);
    }
    const after = (await (await tenant.call(`/v1/webhooks/${ep.id}`)).json()) as { url: string };
    expect(after.url).toBe(ep.url);
    const moved = await tenant.call(`/v1/webhooks/${ep.id}`, {
      method: 'PATCH',
      json: { url: 'https://93.184.216.34/moved' },
    });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { url: string }).url).toBe('https://93.184.216.34/moved');
  });

  it('accepts a public address', async () => {
    const res = await tenant.call('/v1/webhooks', {
      method: 'POST',
      json: { url: 'https://93.184.216.34/hook' },
    });
    expect(res.status).toBe(201);
  });
});
