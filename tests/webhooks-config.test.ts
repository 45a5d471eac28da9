import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@sluice/testkit';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApi, spawnWorker } from './support/processes.js';
import type { Receiver } from './support/receiver.js';
import { chat, type RequestJson, type System, startSystem, submit } from './support/system.js';
import {
  registerWebhook,
  signatureHeaders,
  startWebhookSystem,
  stopWebhookSystem,
} from './support/webhooks.js';

// Webhook behaviour that needs a system configured differently from webhooks.test.ts.

describe('slow webhook receivers never hold up completions', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({
      // One delivery slot and a timeout far longer than the test: one hanging receiver fills the pool.
      workerEnv: { WEBHOOK_CONCURRENCY: '1', WEBHOOK_TIMEOUT_MS: '60000' },
    }));
  });
  afterAll(async () => {
    await rx?.close();
    await sys?.close();
  });

  it('with WEBHOOK_CONCURRENCY=1 and a receiver that never answers, 10 requests still complete promptly', async () => {
    const t = await sys.createTenant('pro');
    await registerWebhook(t, rx.url('/hang'));
    const held: ServerResponse[] = [];
    rx.on('/hang', (_n, res) => held.push(res)); // never answers until released below
    try {
      const started = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await submit(t, chat(`busy webhooks ${i}`))).id);
      await waitFor(
        async () => {
          const views = await Promise.all(
            ids.map(async (id) => (await (await t.call(`/v1/requests/${id}`)).json()) as RequestJson),
          );
          return views.every((v) => v.status === 'completed');
        },
        { timeoutMs: 20_000, intervalMs: 100, message: 'all 10 requests completed' },
      );
      const elapsed = Date.now() - started;
      // Generous for a loaded machine; a shared pool would wait on the 60 s webhook timeout.
      expect(elapsed).toBeLessThan(10_000);
      // The webhook pool really was stuck the whole time: one delivery in flight, none after it.
      expect(rx.at('/hang')).toHaveLength(1);
      expect(held).toHaveLength(1);
    } finally {
      rx.on('/hang', (_n, res) => res.writeHead(200).end());
      for (const res of held) res.writeHead(200).end();
    }
    // Once the receiver answers, the queued deliveries follow.
    await waitFor(() => rx.at('/hang').length === 10, { timeoutMs: 20_000, message: 'the 10 deliveries' });
  });
});

describe('secret rotation grace period ending', () => {
  let sys: System;
  let rx: Receiver;
  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({ apiEnv: { WEBHOOK_SECRET_GRACE_SECONDS: '1' } }));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  it('after the grace period only the new secret signs; the old one no longer verifies', async () => {
    const t = await sys.createTenant('pro');
    const ep = await registerWebhook(t, rx.url('/rotated'));
    const rotatedAt = Date.now();
    const rotated = (await (
      await t.call(`/v1/webhooks/${ep.id}/rotate-secret`, { method: 'POST' })
    ).json()) as { secret: string; previous_secrets_expire_at: number };
    expect(rotated.previous_secrets_expire_at).toBeLessThanOrEqual(Math.ceil(rotatedAt / 1000) + 2);
    // Past the 1 s grace, with a margin.
    await sleep(Math.max(0, rotatedAt + 1_500 - Date.now()));

    await submit(t, chat('after the grace period'));
    await waitFor(() => rx.at('/rotated').length === 1, { timeoutMs: 15_000 });
    const got = rx.at('/rotated')[0];
    if (!got) throw new Error('unreachable');
    const headers = signatureHeaders(got.headers);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(new Webhook(rotated.secret).verify(got.body, headers)).toBeTruthy();
    expect(() => new Webhook(ep.secret).verify(got.body, headers)).toThrow();
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_NETWORKS is logged at start-up', () => {
  let sys: System;
  const savedLevel = process.env.TEST_LOG_LEVEL;
  beforeAll(async () => {
    // spawnWorker/spawnApi log at TEST_LOG_LEVEL (default warn); the line under test is a warning.
    if (['error', 'fatal', 'silent'].includes(savedLevel ?? '')) process.env.TEST_LOG_LEVEL = 'warn';
    sys = await startSystem({ workers: 0 });
  });
  afterAll(async () => {
    process.env.TEST_LOG_LEVEL = savedLevel;
    if (savedLevel === undefined) delete process.env.TEST_LOG_LEVEL;
    await sys?.close();
  });

  /** Starts a real API and worker with `allow`, stops them, and returns each one's whole output. */
  const outputs = async (allow: 'true' | 'false') => {
    const env = { ...sys.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: allow };
    const [api, worker] = await Promise.all([spawnApi(env), spawnWorker(env)]);
    // Stopping drains the pipes, so the output is complete.
    await Promise.all([api.stop(), worker.stop()]);
    return { api: api.output(), worker: worker.output() };
  };
  const warnings = (output: string) =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg?: string })
      .filter((l) => l.level === 40);

  it('both processes warn when private targets are allowed', async () => {
    const out = await outputs('true');
    for (const [name, text] of Object.entries(out)) {
      expect(
        warnings(text).some((w) => w.msg?.includes('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true')),
        `${name} output:\n${text}`,
      ).toBe(true);
    }
  });

  it('neither says anything about it when they are not', async () => {
    const out = await outputs('false');
    for (const [name, text] of Object.entries(out)) {
      expect(text, name).not.toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS|private networks/);
    }
  });
});
