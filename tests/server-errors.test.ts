import { redisKeys } from '@sluice/core';
import { getFreePort, startProcess, waitFor } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, type System, startSystem, submit, type TestTenant, waitTerminal } from './support/system.js';

/** Server-side failures answer in the same error shape, with a request id and no internals. */
describe('server errors', () => {
  let sys: System;
  let tenant: TestTenant;

  beforeAll(async () => {
    sys = await startSystem();
    tenant = await sys.createTenant('pro');
  });
  afterAll(() => sys?.close());

  it('an unexpected error is a 500 with a request id and no internals', async () => {
    const a = await submit(tenant, chat('soon corrupted'));
    await waitTerminal(tenant, a.id);
    // Corrupt the stored record the way a bad migration would: the API cannot parse it.
    const redis = new Redis(sys.redis.url);
    await redis.hset(redisKeys(sys.prefix).request(a.id), 'metadata', '{not json');
    await redis.quit();
    const res = await tenant.call(`/v1/requests/${a.id}`);
    expect(res.status).toBe(500);
    const requestId = res.headers.get('x-request-id');
    const body = (await res.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error.code).toBe('internal_error');
    expect(body.error.type).toBe('server_error');
    expect(body.error.message).toContain(requestId);
    expect(body.error.message).not.toMatch(/JSON|SyntaxError|at \w+ \(/);

    // The same failure in a real API process: the stack goes to its log, tagged with the request
    // id the client was given, and the response carries none of it.
    const port = await getFreePort();
    const api = await startProcess({
      name: 'api-500',
      command: process.execPath,
      args: ['--import', 'tsx', 'apps/api/src/main.ts'],
      env: { ...sys.env, PORT: String(port), LOG_LEVEL: 'error' },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    try {
      const res500 = await fetch(`http://127.0.0.1:${port}/v1/requests/${a.id}`, {
        headers: { Authorization: `Bearer ${tenant.key}` },
      });
      expect(res500.status).toBe(500);
      const id500 = res500.headers.get('x-request-id');
      expect(id500).toBeTruthy();
      const text = await res500.text();
      expect(text).toContain(id500);
      expect(text).not.toMatch(/SyntaxError|JSON|\.ts|node_modules|stack|metadata|at \w+/);
      await waitFor(() => api.output().includes(id500 as string), { timeoutMs: 5_000 });
      const logged = api
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map(
          (line) =>
            JSON.parse(line) as { requestId?: string; msg?: string; err?: { type?: string; stack?: string } },
        )
        .find((entry) => entry.requestId === id500);
      expect(logged?.msg).toBe('unhandled error');
      expect(logged?.err?.type).toBe('SyntaxError');
      expect(logged?.err?.stack).toMatch(/^SyntaxError: .*JSON/);
      expect(logged?.err?.stack).toMatch(/\n\s+at .+\.ts:\d+/); // frames in our own code
    } finally {
      await api.stop();
    }
  });

  it('with Redis down the API answers 503 (readyz too) and recovers when Redis is back', async () => {
    await sys.redis.kill();
    const res = await tenant.call('/v1/requests', { method: 'POST', json: chat('during the outage') });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('service_unavailable');
    expect((await fetch(`${sys.api.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${sys.api.url}/healthz`)).status).toBe(200);

    await sys.redis.restart();
    // Redis without AOF comes back empty: re-create the tenant, then the system works again.
    const fresh = await sys.createTenant('pro');
    const after = await submit(fresh, chat('after the outage'));
    expect((await waitTerminal(fresh, after.id, 30_000)).status).toBe('completed');
  });
});
