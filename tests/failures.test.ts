import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jobPriority } from '@sluice/core';
import { waitFor } from '@sluice/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, type System, startSystem, submit, type TestTenant, waitTerminal } from './support/system.js';

/** Each failure class ends the way it should: fail fast, retry then succeed, or fail with a clear code. */
describe('upstream failure classes', () => {
  let sys: System;
  let tenant: TestTenant;

  beforeAll(async () => {
    sys = await startSystem({
      workerEnv: {
        MAX_ATTEMPTS: '3',
        UPSTREAM_TIMEOUT_MS: '500',
        RETRY_BASE_DELAY_MS: '20',
        RETRY_MAX_DELAY_MS: '200',
        // These tests fail on purpose, one after another; keep the circuit breaker (tested in
        // resilience.test.ts) from opening between them.
        BREAKER_CONSECUTIVE_FAILURES: '1000',
        BREAKER_MIN_REQUESTS: '100000',
      },
      apiEnv: { MAX_ATTEMPTS: '3' },
    });
    tenant = await sys.createTenant('enterprise');
  });
  afterAll(() => sys?.close());

  it.each([400, 401, 403, 404, 422])(
    'an upstream %i fails at once with the upstream error, no retry',
    async (status) => {
      const text = `reject me ${status} [sim:status=${status}]`;
      const done = await waitTerminal(tenant, (await submit(tenant, chat(text))).id);
      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(1);
      expect(done.error?.code).toBe('upstream_rejected');
      expect(done.error?.upstream_status).toBe(status);
      expect(done.error?.message.length).toBeGreaterThan(0);
      expect(sys.sim.calls({ contains: text }).count).toBe(1);
    },
  );

  it.each([
    ['500', '[sim:fail=500x2]', 3],
    ['503', '[sim:fail=503x2]', 3],
    ['408', '[sim:fail=408x2]', 3],
    ['409', '[sim:fail=409x2]', 3],
    // A 429 is pacing, not failure: it spends no attempt.
    ['429', '[sim:fail=429x2] [sim:retry-after-ms=50]', 1],
  ])('a transient %s is retried and the request completes', async (_s, directive, attempts) => {
    const text = `flaky ${directive}`;
    const done = await waitTerminal(tenant, (await submit(tenant, chat(text))).id);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(attempts);
    expect(done.response?.choices[0]?.message.content).toContain('Echo: flaky');
    expect(sys.sim.calls({ contains: text }).count).toBe(3);
  });

  it('a 429 with retry-after-ms pauses the whole fleet for that long and spends no attempt', async () => {
    const text = 'slow down [sim:fail=429x1] [sim:retry-after-ms=1500]';
    const started = Date.now();
    const first = await submit(tenant, chat(text));
    await waitFor(() => sys.sim.calls({ contains: text }).count === 1, { timeoutMs: 5_000 });
    // Submitted during the pause: it must wait for the pause too, not hit the upstream at once.
    const bystander = await submit(tenant, chat('innocent bystander'));
    const [a, b] = await Promise.all([waitTerminal(tenant, first.id), waitTerminal(tenant, bystander.id)]);
    expect(a.status).toBe('completed');
    expect(a.attempts).toBe(1);
    expect(b.status).toBe('completed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    const bystanderCall = sys.sim.calls({ contains: 'innocent bystander' });
    expect(bystanderCall.count).toBe(1);
    expect(bystanderCall.byOutcome.rate_limited ?? 0).toBe(0);
  });

  it('honours retry-after-ms on a 5xx, and the retry waits one step lower in its band', async () => {
    const text = 'overloaded [sim:fail=503x1] [sim:retry-after-ms=1500]';
    const started = Date.now();
    const { id } = await submit(tenant, chat(text));
    await waitFor(async () => (await sys.api.deps.queue.getJobState(id)) === 'delayed', { timeoutMs: 5_000 });
    const job = await sys.api.deps.queue.getJob(id);
    expect(job?.priority).toBe(jobPriority('enterprise', 'normal', 1));
    expect(job?.priority).toBeGreaterThan(jobPriority('enterprise', 'normal', 0));
    const done = await waitTerminal(tenant, id);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it.each([
    ['always 500', '[sim:status=500]', 'upstream_server_error'],
    ['a hang (timeout)', '[sim:hang]', 'upstream_timeout'],
    ['malformed JSON', '[sim:malformed]', 'upstream_invalid_response'],
    ['a truncated body', '[sim:truncated]', 'upstream_invalid_response'],
  ])('%s exhausts the attempts and fails with a clear code', async (_name, directive, lastCode) => {
    const text = `broken ${directive}`;
    const done = await waitTerminal(tenant, (await submit(tenant, chat(text))).id);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(3);
    expect(done.error?.code).toBe('upstream_retries_exhausted');
    expect(done.error?.upstream_code).toBeTruthy();
    if (lastCode !== 'upstream_server_error') expect(done.error?.upstream_code).toBe(lastCode);
    expect(sys.sim.calls({ contains: text }).count).toBe(3);
  });

  describe('an unreachable upstream', () => {
    let closed: Server;
    beforeAll(async () => {
      closed = createServer((_req, res) => res.socket?.destroy());
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => closed.close(() => r())));

    it('connection errors are retried, then fail with upstream_retries_exhausted', async () => {
      for (const w of sys.workers.splice(0)) await w.close();
      const port = (closed.address() as AddressInfo).port;
      await sys.startWorker({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, MAX_ATTEMPTS: '3' });
      const done = await waitTerminal(tenant, (await submit(tenant, chat('nobody home'))).id);
      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(3);
      expect(done.error?.code).toBe('upstream_retries_exhausted');
      expect(done.error?.upstream_code).toBe('upstream_connection_error');
    });
  });
});
