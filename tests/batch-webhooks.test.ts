import { waitFor } from '@sluice/testkit';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchLine, sdkTenant, uploadJsonl } from './support/batches.js';
import type { Receiver } from './support/receiver.js';
import type { System, TestTenant } from './support/system.js';
import {
  registerWebhook,
  startWebhookSystem,
  stopWebhookSystem,
  verifyDelivery,
} from './support/webhooks.js';

const BATCH_EVENTS = ['batch.completed', 'batch.failed', 'batch.expired', 'batch.cancelled'];

const line = (customId: string, text: string) => batchLine(customId, text, { max_tokens: 20 });

/** Sweeps run often so the tests take seconds. */
const fast = {
  BATCH_SWEEP_INTERVAL_MS: '200',
  OUTBOX_SWEEP_INTERVAL_MS: '200',
};

interface BatchEvent {
  type: string;
  data: { id: string; status: string; request_counts: { total: number; completed: number; failed: number } };
}

/** Registers an endpoint for every batch event; returns a function that waits for one batch's event. */
async function subscribe(tenant: TestTenant, rx: Receiver, path: string) {
  const { secret } = await registerWebhook(tenant, rx.url(path), { events: BATCH_EVENTS });
  return async (batchId: string, timeoutMs = 20_000): Promise<BatchEvent[]> => {
    // Throws on a bad signature: every delivery must verify.
    const events = () => rx.at(path).map((got) => verifyDelivery<BatchEvent>(secret, got));
    await waitFor(() => events().some((e) => e.data.id === batchId), {
      timeoutMs,
      message: `no webhook for ${batchId}`,
    });
    return events().filter((e) => e.data.id === batchId);
  };
}

describe('batch webhooks: every terminal status, signed, and never lost', () => {
  let sys: System;
  let tenant: TestTenant;
  let openai: OpenAI;
  let rx: Receiver;

  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({ apiEnv: fast, workerEnv: fast }));
    ({ tenant, openai } = await sdkTenant(sys));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  const upload = (jsonl: string) => uploadJsonl(openai, jsonl);

  it('batch.failed: a file that fails validation', async () => {
    const eventsOf = await subscribe(tenant, rx, '/failed');
    const batch = await openai.batches.create({
      input_file_id: (await upload(`${line('a', 'ok')}\nnot json at all\n`)).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const events = await eventsOf(batch.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'batch.failed', data: { id: batch.id, status: 'failed' } });
  });

  it('batch.cancelled: cancelled while its lines wait behind a paused queue', async () => {
    const eventsOf = await subscribe(tenant, rx, '/cancelled');
    await sys.api.deps.queue.pause();
    try {
      const jsonl = Array.from({ length: 5 }, (_, i) => line(`c${i}`, `to be cancelled ${i}`)).join('\n');
      const batch = await openai.batches.create({
        input_file_id: (await upload(jsonl)).id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      await waitFor(async () => (await openai.batches.retrieve(batch.id)).status === 'in_progress', {
        timeoutMs: 10_000,
      });
      await openai.batches.cancel(batch.id);
      const events = await eventsOf(batch.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'batch.cancelled',
        data: { id: batch.id, status: 'cancelled', request_counts: { total: 5, completed: 0 } },
      });
      // None of its lines reached the upstream.
      expect(sys.sim.calls({ contains: 'to be cancelled' }).count).toBe(0);
    } finally {
      await sys.api.deps.queue.resume();
    }
  });

  it('a batch that ended just before its worker died still gets its event (the outbox)', async () => {
    const eventsOf = await subscribe(tenant, rx, '/outbox');
    // The worker's last step moved the batch to completed and the process died before it could
    // queue the dispatch: the transitions happen, the fast path never runs.
    const { batches } = sys.api.deps;
    const batch = await batches.create({
      tenantId: tenant.id,
      endpoint: '/v1/chat/completions',
      inputFileId: 'file-gone',
      metadata: null,
    });
    expect(await batches.transition(batch.id, ['validating'], 'in_progress', { total: '0' })).toBe(true);
    expect(await batches.transition(batch.id, ['in_progress'], 'finalizing', {})).toBe(true);
    expect(await batches.transition(batch.id, ['finalizing'], 'completed', {})).toBe(true);
    const outbox = sys.api.deps.keys.webhookOutbox();
    expect(await sys.api.deps.redis.zscore(outbox, batch.id)).not.toBeNull();

    // The outbox sweep picks it up once it is older than the fast path's grace (5 s).
    const events = await eventsOf(batch.id, 20_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'batch.completed', data: { id: batch.id, status: 'completed' } });
    await waitFor(async () => (await sys.api.deps.redis.zscore(outbox, batch.id)) === null, {
      timeoutMs: 5_000,
      message: 'the outbox entry was never removed',
    });
  });
});

describe('batch webhooks: expiry', () => {
  let sys: System;
  let rx: Receiver;

  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({
      apiEnv: { ...fast, BATCH_WINDOW_MS: '3000' },
      // With a 3 s window every batch would count as urgent under the 6 h / 2 h defaults.
      workerEnv: { ...fast, BATCH_PROMOTE_BEFORE_MS: '1000', BATCH_URGENT_BEFORE_MS: '500' },
    }));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  it('batch.expired: the window ends with lines unfinished', async () => {
    const { tenant, openai } = await sdkTenant(sys);
    const eventsOf = await subscribe(tenant, rx, '/expired');
    const jsonl = Array.from({ length: 4 }, (_, i) =>
      line(`x${i}`, `expiring ${i} [sim:latency=${i === 0 ? 10 : 15000}]`),
    ).join('\n');
    const batch = await openai.batches.create({
      input_file_id: (await uploadJsonl(openai, jsonl)).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const events = await eventsOf(batch.id, 30_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'batch.expired', data: { id: batch.id, status: 'expired' } });
    expect(events[0]?.data.request_counts.total).toBe(4);
  });
});
