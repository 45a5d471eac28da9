import { Readable } from 'node:stream';
import {
  BatchStore,
  batchLinePriority,
  completionJobOptions,
  createCompletionsQueue,
  redisKeys,
  type Tenant,
} from '@sluice/core';
import { randomPrefix, waitFor } from '@sluice/testkit';
import { describe, expect, it } from 'vitest';
import { ENQUEUE_CHUNK, enqueueBatchLines } from '../src/batches/enqueue.js';
import { lineRequestId } from '../src/batches/lines.js';
import { requestStore, useRedis } from './support.js';

const LINES = 2_500;
const line = (i: number) =>
  JSON.stringify({
    custom_id: `c-${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `line ${i}` }] },
  });

/** The batch file as a stream that dies after `crashAfter` lines, like a worker killed mid-read. */
function file(crashAfter = Number.POSITIVE_INFINITY, onLine?: (i: number) => Promise<void>): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < LINES; i++) {
        if (i === crashAfter) throw new Error('worker killed');
        await onLine?.(i);
        yield `${line(i)}\n`;
      }
    })(),
  );
}

/**
 * Enqueueing a 50,000-line batch is not atomic (BullMQ's addBulk is not, and a worker can die at
 * any point). These tests crash it part-way through and check that the next run resumes from the
 * progress marker without duplicating a job or resetting a line that already ran.
 */
describe('batch enqueue: crash mid-way and resume', () => {
  const db = useRedis();

  async function setup() {
    const { redis, queueConnection } = db;
    const keys = redisKeys(randomPrefix('enqueue'));
    const requests = requestStore(redis, keys);
    const batches = new BatchStore(redis, keys);
    const queue = createCompletionsQueue(queueConnection, keys);
    const tenant = { id: 'ten_enqueue', tier: 'pro' } as Tenant;
    const created = await batches.create({
      tenantId: tenant.id,
      endpoint: '/v1/chat/completions',
      inputFileId: 'file-x',
      metadata: null,
    });
    await batches.transition(created.id, ['validating'], 'in_progress', { total: String(LINES) });
    const deps = { requests, batches, queue, maxAttempts: 3 };
    const load = async () => {
      const batch = await batches.get(created.id);
      if (!batch) throw new Error('batch vanished');
      return batch;
    };
    return { keys, requests, batches, queue, tenant, deps, load, batchId: created.id };
  }

  it('a crash part-way leaves a marker at a chunk boundary; the rerun adds the rest, each job once', async () => {
    const { redis } = db;
    const t = await setup();
    await expect(enqueueBatchLines(t.deps, await t.load(), t.tenant, file(1_700))).rejects.toThrow(
      'worker killed',
    );
    const afterCrash = await t.load();
    // Only whole chunks count: the partial second chunk was never written.
    expect(afterCrash.enqueued).toBe(ENQUEUE_CHUNK);
    expect(await t.queue.count()).toBe(ENQUEUE_CHUNK);

    // The crashed process had in fact written half of the next chunk before dying (addBulk is not
    // atomic), and one of those lines already ran to completion, its job removed.
    const half = Array.from({ length: 500 }, (_, k) => ENQUEUE_CHUNK + k);
    await t.requests.createBatchLines({
      tenantId: t.tenant.id,
      tier: t.tenant.tier,
      createdAt: Date.now(),
      endpoint: '/v1/chat/completions',
      batchId: t.batchId,
      expiresAt: (await t.load()).expiresAt,
      lines: half.map((i) => ({
        id: lineRequestId(t.batchId, i),
        model: 'gpt-4o-mini',
        customId: `c-${i}`,
        line: i + 1,
        body: JSON.parse(line(i)).body,
      })),
    });
    await t.queue.addBulk(
      half.map((i) => ({
        name: 'completion',
        data: { requestId: lineRequestId(t.batchId, i), tenantId: t.tenant.id },
        opts: completionJobOptions(lineRequestId(t.batchId, i), batchLinePriority(), { maxAttempts: 3 }),
      })),
    );
    const ran = lineRequestId(t.batchId, 1_200);
    await redis.hset(t.keys.request(ran), 'status', 'completed', 'response', '{"ran":true}');
    await t.queue.remove(ran);

    const total = await enqueueBatchLines(t.deps, await t.load(), t.tenant, file());
    expect(total).toBe(LINES);
    expect((await t.load()).enqueued).toBe(LINES);
    // Every line has exactly one job (ids are deterministic, so re-adding one is a no-op)...
    const jobs = await t.queue.getJobs(['prioritized', 'waiting'], 0, -1);
    const ids = jobs.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(LINES);
    // ...and every record exists once, with its own line; the one that ran was not reset.
    for (const i of [0, 999, 1_000, 1_499, 1_500, 1_699, 1_700, LINES - 1]) {
      const record = await t.requests.get(lineRequestId(t.batchId, i));
      expect(record?.customId).toBe(`c-${i}`);
      expect(record?.line).toBe(i + 1);
      expect(record?.status).toBe('queued');
    }
    const done = await t.requests.get(ran);
    expect(done?.status).toBe('completed');
    expect(done?.response).toEqual({ ran: true });
    expect(await redis.zcard(t.keys.openRequests())).toBe(LINES);
    await t.queue.obliterate({ force: true });
  });

  it('line records outlive the batch window, before and after they finish, whatever the retention settings', async () => {
    // Retention of 1 h (the minimum) against a 24 h window: finalize reads every line at the end of
    // the window, so neither the open-record TTL nor the result TTL may drop a line before then.
    const { redis } = db;
    const t = await setup();
    await enqueueBatchLines(t.deps, await t.load(), t.tenant, file());
    const { expiresAt } = await t.load();
    const untilEnd = (expiresAt - Date.now()) / 1000;
    const first = t.keys.request(lineRequestId(t.batchId, 0));
    expect(await redis.ttl(first)).toBeGreaterThan(untilEnd);
    expect(await t.requests.fail(lineRequestId(t.batchId, 0), { code: 'x', message: 'early failure' })).toBe(
      'ok',
    );
    expect(await redis.ttl(first)).toBeGreaterThan(untilEnd + 3_000);
    // An interactive request keeps the plain retention.
    await t.requests.create({
      id: 'req_plain',
      tenantId: t.tenant.id,
      tier: 'pro',
      model: 'gpt-4o-mini',
      priority: 'normal',
      createdAt: Date.now(),
      metadata: {},
      body: {},
    });
    await t.requests.fail('req_plain', { code: 'x', message: 'failure' });
    expect(await redis.ttl(t.keys.request('req_plain'))).toBeLessThanOrEqual(3_600);
    await t.queue.obliterate({ force: true });
  });

  it('stops adding lines once the batch is cancelled mid-way', async () => {
    const t = await setup();
    // Cancelled while the file is still being read, after the first chunk went out.
    const stream = file(Number.POSITIVE_INFINITY, async (i) => {
      if (i !== 1_500) return;
      await waitFor(async () => (await t.queue.count()) === ENQUEUE_CHUNK, { timeoutMs: 10_000 });
      await t.batches.transition(t.batchId, ['in_progress'], 'cancelling', {});
    });
    await enqueueBatchLines(t.deps, await t.load(), t.tenant, stream);
    // The first chunk was queued before the cancel; nothing after it was.
    expect(await t.queue.count()).toBe(ENQUEUE_CHUNK);
    expect((await t.load()).enqueued).toBe(ENQUEUE_CHUNK);
    await t.queue.obliterate({ force: true });
  });
});
