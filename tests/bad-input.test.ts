import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chat, type System, startSystem, type TestTenant } from './support/system.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Every malformed request answers a 4xx in OpenAI's error shape, and nothing is enqueued. */
describe('bad input and auth', () => {
  let sys: System;
  let tenant: TestTenant;

  beforeAll(async () => {
    // No worker: anything enqueued by mistake would stay visible in the queue counts.
    sys = await startSystem({ workers: 0, apiEnv: { MAX_BODY_BYTES: '4096' } });
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  const expectError = async (res: Response, status: number, code: string, param?: string | null) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as ErrorBody;
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    if (param !== undefined) expect(body.error.param).toBe(param);
    return body.error;
  };

  const post = (body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
    tenant.call('/v1/requests', { method: 'POST', body, headers });

  it('answers 401 without a key, with a wrong key, and at once after revocation', async () => {
    await expectError(
      await fetch(`${sys.api.url}/v1/requests`, { method: 'POST', body: '{}' }),
      401,
      'missing_api_key',
    );
    await expectError(
      await tenant.call('/v1/requests/req_x', { headers: { Authorization: 'Bearer sk-sluice-nope' } }),
      401,
      'invalid_api_key',
    );
    const temp = await sys.createTenant('free');
    expect((await temp.call('/v1/requests', { method: 'POST', json: chat('hi') })).status).toBe(202);
    const revoke = await fetch(`${sys.api.url}/admin/keys/${temp.keyId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(revoke.status).toBe(200);
    await expectError(
      await temp.call('/v1/requests', { method: 'POST', json: chat('hi') }),
      401,
      'invalid_api_key',
    );
  });

  it('protects the admin API with ADMIN_TOKEN', async () => {
    const body = JSON.stringify({ name: 'x', tier: 'pro' });
    await expectError(
      await fetch(`${sys.api.url}/admin/tenants`, { method: 'POST', body }),
      401,
      'missing_api_key',
    );
    await expectError(
      await fetch(`${sys.api.url}/admin/tenants`, {
        method: 'POST',
        body,
        headers: { Authorization: `Bearer ${tenant.key}` },
      }),
      401,
      'invalid_api_key',
    );
    const bad = await fetch(`${sys.api.url}/admin/tenants`, {
      method: 'POST',
      body: JSON.stringify({ name: 'x', tier: 'platinum' }),
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    });
    await expectError(bad, 400, 'invalid_request', 'tier');
    const noKeyTenant = await fetch(`${sys.api.url}/admin/tenants/ten_missing/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await expectError(noKeyTenant, 404, 'not_found');
  });

  it('answers 400 for invalid JSON, 415 for another content type, 413 for a body over the limit', async () => {
    await expectError(await post('{"model": '), 400, 'invalid_json');
    await expectError(
      await post('model=x', { 'Content-Type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    );
    await expectError(await post(JSON.stringify(chat('x'.repeat(10_000)))), 413, 'payload_too_large');
  });

  it.each([
    ['a missing model', { messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    ['no messages', { model: 'm', messages: [] }, 'messages'],
    ['an unknown role', { model: 'm', messages: [{ role: 'robot', content: 'hi' }] }, 'messages.0.role'],
    ['temperature out of range', chat('hi', { temperature: 3 }), 'temperature'],
    ['a non-integer max_tokens', chat('hi', { max_tokens: 1.5 }), 'max_tokens'],
    ['an unknown field', chat('hi', { tempreature: 1 }), 'tempreature'],
    ['stream: true', chat('hi', { stream: true }), 'stream'],
    ['a bad priority', chat('hi', { priority: 'urgent' }), 'priority'],
    ['a bad response_format', chat('hi', { response_format: { type: 'yaml' } }), 'response_format.type'],
    [
      'a bad tool name',
      chat('hi', { tools: [{ type: 'function', function: { name: 'has space' } }] }),
      'tools.0.function.name',
    ],
    [
      'too many metadata keys',
      chat('hi', { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),
      'metadata',
    ],
    ['a body that is not an object', [1, 2], null],
  ])('answers 400 naming the field for %s', async (_name, body, param) => {
    const err = await expectError(await post(JSON.stringify(body)), 400, 'invalid_request', param);
    if (param) expect(err.message).toContain(param);
  });

  it('rejects a malformed Idempotency-Key and a bad request id', async () => {
    await expectError(
      await tenant.call('/v1/requests', {
        method: 'POST',
        json: chat('hi'),
        headers: { 'Idempotency-Key': 'has space' },
      }),
      400,
      'invalid_request',
      'Idempotency-Key',
    );
    await expectError(await tenant.call('/v1/requests/not-an-id'), 404, 'not_found', 'id');
    await expectError(
      await tenant.call('/v1/requests/req_00000000000000000000000000'),
      404,
      'not_found',
      'id',
    );
  });

  it('answers unknown routes with 404 in the same shape, and probes without auth', async () => {
    await expectError(await tenant.call('/v1/nothing-here'), 404, 'not_found');
    expect((await fetch(`${sys.api.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${sys.api.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${sys.api.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${sys.api.url}/metrics`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('sluice_http_requests_total');
  });

  it('enqueued nothing for any rejected request', async () => {
    // Only the two accepted submissions of the revocation test are in the queue.
    const counts = await sys.api.deps.queue.getJobCounts('prioritized', 'waiting', 'active', 'delayed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });
});
