import { waitFor } from '@sluice/testkit';
import OpenAI from 'openai';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from './support/receiver.js';
import {
  chat,
  type RequestJson,
  type System,
  startSystem,
  submit,
  type TestTenant,
  waitTerminal,
} from './support/system.js';

interface EndpointJson {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  secret?: string;
  disabled_reason: string | null;
}
interface DeliveryJson {
  id: string;
  webhook_id: string;
  event: string;
  status: string;
  attempts: number;
  status_code: number | null;
  error: string | null;
  attempt_log: { status_code: number | null; error: string | null }[];
}

const json = async <T>(res: Response, status = 200): Promise<T> => {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
};

const headersOf = (h: Record<string, string | string[] | undefined>) => ({
  'webhook-id': String(h['webhook-id']),
  'webhook-timestamp': String(h['webhook-timestamp']),
  'webhook-signature': String(h['webhook-signature']),
});

describe('signed webhooks', () => {
  let sys: System;
  let tenant: TestTenant;
  let rx: Receiver;

  const register = async (t: TestTenant, path: string, extra: Record<string, unknown> = {}) =>
    json<EndpointJson>(
      await t.call('/v1/webhooks', { method: 'POST', json: { url: rx.url(path), ...extra } }),
      201,
    );

  beforeAll(async () => {
    rx = await startReceiver();
    const env = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
    sys = await startSystem({
      apiEnv: env,
      workerEnv: {
        ...env,
        WEBHOOK_RETRY_SCHEDULE_MS: '0,300,600',
        WEBHOOK_TIMEOUT_MS: '500',
        OUTBOX_SWEEP_INTERVAL_MS: '500',
      },
    });
    tenant = await sys.createTenant('pro');
  });
  afterAll(async () => {
    await sys?.close();
    await rx?.close();
  });

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
    const headers = headersOf(got.headers);
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

  it('retries a failed delivery with the same webhook-id and a fresh valid signature', async () => {
    const t = await sys.createTenant('pro');
    const ep = await register(t, '/flaky');
    rx.on('/flaky', (n, res) => res.writeHead(n === 0 ? 500 : 200).end());
    await submit(t, chat('flaky receiver'));
    await waitFor(() => rx.at('/flaky').length === 2, { timeoutMs: 15_000, message: 'no retry' });
    const [first, second] = rx.at('/flaky');
    if (!first || !second) throw new Error('unreachable');
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.at - first.at).toBeGreaterThanOrEqual(250);
    for (const r of [first, second])
      expect(new Webhook(ep.secret as string).verify(r.body, headersOf(r.headers))).toBeTruthy();

    await waitFor(async () => {
      const log = await json<{ data: DeliveryJson[] }>(await t.call(`/v1/webhooks/${ep.id}/deliveries`));
      return log.data[0]?.status === 'succeeded';
    });
    const log = await json<{ data: DeliveryJson[] }>(await t.call(`/v1/webhooks/${ep.id}/deliveries`));
    expect(log.data[0]).toMatchObject({
      event: 'request.completed',
      status: 'succeeded',
      attempts: 2,
      status_code: 200,
    });
    expect(log.data[0]?.attempt_log.map((a) => a.status_code)).toEqual([200, 500]);
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
    const headers = headersOf(got.headers);
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
    rx = await startReceiver();
    const env = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
    sys = await startSystem({
      apiEnv: env,
      // "5 days" shrunk to 400 ms so the rule can be seen in a test.
      workerEnv: { ...env, WEBHOOK_RETRY_SCHEDULE_MS: '0,300,600,900', WEBHOOK_DISABLE_AFTER_MS: '400' },
    });
  });
  afterAll(async () => {
    await sys?.close();
    await rx?.close();
  });

  it('are disabled with reason failing, visible in the API', async () => {
    const t = await sys.createTenant('pro');
    rx.on('/down', (_n, res) => res.writeHead(503).end());
    const ep = await json<EndpointJson>(
      await t.call('/v1/webhooks', { method: 'POST', json: { url: rx.url('/down') } }),
      201,
    );
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

  it('accepts a public address', async () => {
    const res = await tenant.call('/v1/webhooks', {
      method: 'POST',
      json: { url: 'https://93.184.216.34/hook' },
    });
    expect(res.status).toBe(201);
  });
});
