import {
  AGED_PRIORITY,
  BATCH_PROMOTED_PRIORITY,
  BATCH_URGENT_PRIORITY,
  BatchStore,
  completionJobOptions,
  createBatchesQueue,
  createCompletionsQueue,
  createLogger,
  jobPriority,
  redisKeys,
} from '@sluice/core';
import { randomPrefix } from '@sluice/testkit';
import { describe, expect, it } from 'vitest';
import { AgingSweeper } from '../src/aging.js';
import { BatchSweeper } from '../src/batches/sweeper.js';
import { createWorkerMetrics } from '../src/metrics.js';
import { Reconciler } from '../src/reconciler.js';
import { requestStore, useRedis } from './support.js';

const log = createLogger('test', 'silent');
const HOUR = 3_600_000;

/**
 * The sweeps that bound how long a request can wait (aging, batch promotion) look at each request
 * once. These tests check the decisions they make at a controlled time, and that a job the
 * reconciler has to re-add keeps the place a sweep gave it.
 */
describe('sweeps (real Redis, real BullMQ queues)', () => {
  const db = useRedis();

  it('the reconciler re-adds a lost job at the place aging or batch promotion gave it', async () => {
    const { redis, queueConnection } = db;
    const keys = redisKeys(randomPrefix('reconcile'));
    const requests = requestStore(redis, keys);
    const batches = new BatchStore(redis, keys);
    const queue = createCompletionsQueue(queueConnection, keys);
    const now = Date.now();
    const create = async (id: string, createdAt: number) => {
      await requests.create({
        id,
        tenantId: 'ten_x',
        tier: 'free',
        model: 'gpt-4o-mini',
        priority: 'low',
        createdAt,
        metadata: {},
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: id }] },
      });
    };
    await create('req_aged', now - 10_000);
    await create('req_young', now - 2_000);
    const batch = await batches.create({
      tenantId: 'ten_x',
      endpoint: '/v1/chat/completions',
      inputFileId: 'file-x',
      metadata: null,
    });
    await requests.createBatchLines({
      tenantId: 'ten_x',
      tier: 'free',
      createdAt: now - 10_000,
      endpoint: '/v1/chat/completions',
      batchId: batch.id,
      expiresAt: batch.expiresAt,
      lines: [
        {
          id: 'req_line',
          model: 'gpt-4o-mini',
          customId: 'req_line',
          line: 0,
          body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'req_line' }] },
        },
      ],
    });
    await batches.setFields(batch.id, { promoted_priority: String(BATCH_PROMOTED_PRIORITY) });
    const band = jobPriority('free', 'low');
    for (const id of ['req_aged', 'req_young'])
      await queue.add(
        'completion',
        { requestId: id, tenantId: 'ten_x' },
        completionJobOptions(id, band, { maxAttempts: 5 }),
      );

    const aging = new AgingSweeper({
      redis,
      keys,
      queue,
      requests,
      log,
      maxWaitMs: 5_000,
      intervalMs: 1_000,
    });
    expect(await aging.sweep(now)).toBe(1);
    expect((await queue.getJob('req_aged'))?.priority).toBe(AGED_PRIORITY);
    expect((await queue.getJob('req_young'))?.priority).toBe(band);

    // Every job is lost (say the API died between storing and enqueueing, or Redis lost them); the
    // young request had one failed attempt, so it comes back a few places down inside its band.
    for (const id of ['req_aged', 'req_young']) await queue.remove(id);
    await redis.hset(keys.request('req_young'), 'attempts', '1');
    const reconciler = new Reconciler({
      redis,
      keys,
      queue,
      requests,
      metrics: createWorkerMetrics(redis, keys),
      log,
      maxAttempts: 5,
      intervalMs: 1_000,
      minAgeMs: 0,
    });
    expect(await reconciler.sweep(now)).toBe(3);
    expect((await queue.getJob('req_aged'))?.priority).toBe(AGED_PRIORITY);
    expect((await queue.getJob('req_young'))?.priority).toBe(jobPriority('free', 'low', 1));
    expect((await queue.getJob('req_line'))?.priority).toBe(BATCH_PROMOTED_PRIORITY);
    await queue.close();
  });

  it('the batch sweeper promotes a batch as its window runs out, once per level, then expires it', async () => {
    const { redis, queueConnection } = db;
    const keys = redisKeys(randomPrefix('batchsweep'));
    const batches = new BatchStore(redis, keys);
    const queue = createBatchesQueue(queueConnection, keys);
    const sweeper = new BatchSweeper({
      redis,
      keys,
      batches,
      queue,
      log,
      intervalMs: 60_000,
      promoteBeforeMs: 2 * HOUR,
      urgentBeforeMs: HOUR / 2,
    });
    const batch = await batches.create({
      tenantId: 'ten_x',
      endpoint: '/v1/chat/completions',
      inputFileId: 'file-x',
      metadata: null,
      windowMs: 24 * HOUR,
    });
    // Every line enqueued, none ended yet.
    await batches.transition(batch.id, ['validating'], 'in_progress', { total: '3', enqueued: '3' });
    const sweepAt = async (at: number) => {
      await redis.del(keys.batchLease()); // one sweep per interval; the test moves the clock itself
      await sweeper.sweep(at);
      return (await queue.getJobs(['waiting', 'prioritized', 'delayed'])).map((j) => j.data);
    };
    const end = batch.expiresAt;

    expect(await sweepAt(end - 3 * HOUR)).toEqual([]);
    const promote = { kind: 'promote', batchId: batch.id, priority: BATCH_PROMOTED_PRIORITY };
    expect(await sweepAt(end - 2 * HOUR + 1_000)).toEqual([promote]);
    // The promote step ran (it records the level); the same level is not asked for again.
    await queue.obliterate({ force: true });
    await batches.setFields(batch.id, { promoted_priority: String(BATCH_PROMOTED_PRIORITY) });
    expect(await sweepAt(end - HOUR)).toEqual([]);
    expect(await sweepAt(end - HOUR / 2 + 1_000)).toEqual([
      { kind: 'promote', batchId: batch.id, priority: BATCH_URGENT_PRIORITY },
    ]);
    await queue.obliterate({ force: true });
    await batches.setFields(batch.id, { promoted_priority: String(BATCH_URGENT_PRIORITY) });
    expect(await sweepAt(end - 60_000)).toEqual([]);
    expect(await sweepAt(end)).toEqual([{ kind: 'expire', batchId: batch.id }]);
    await queue.close();
  });
});
