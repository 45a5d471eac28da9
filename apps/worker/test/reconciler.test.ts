import {
  type CompletionJobData,
  completionJobOptions,
  createCompletionsQueue,
  createLogger,
  createRedis,
  jobPriority,
  QUEUES,
  type RedisKeys,
  type RequestStore,
  redisKeys,
} from '@sluice/core';
import { randomPrefix } from '@sluice/testkit';
import { type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../src/metrics.js';
import { Reconciler } from '../src/reconciler.js';
import { requestStore, useRedis } from './support.js';

const MIN_AGE_MS = 30_000;

/**
 * The reconciler is the backstop of "no request stays in_progress forever": when a job ends outside
 * the processor (it stalled too often) and the process that saw it die before it could record that,
 * the record is left in_progress with a finished job. These tests build that state in a real Redis
 * with real BullMQ jobs, run one sweep, and check what it repaired and what it left alone.
 */
describe('reconciler: records whose job ended without them', () => {
  const db = useRedis();
  let redis: Redis;
  let queueConnection: Redis;
  let workerConnection: Redis;
  let keys: RedisKeys;
  let queue: Queue<CompletionJobData>;
  let requests: RequestStore;
  let fetcher: Worker<CompletionJobData>;
  let reconciler: Reconciler;
  let metrics: ReturnType<typeof createWorkerMetrics>;
  const token = 'dead-worker-token';

  beforeAll(async () => {
    ({ redis, queueConnection } = db);
    workerConnection = createRedis(db.server.url, 'worker');
    keys = redisKeys(randomPrefix('reconciler'));
    queue = createCompletionsQueue(queueConnection, keys);
    requests = requestStore(redis, keys);
    // No processor: jobs are fetched by hand, as a worker that then dies would have fetched them.
    fetcher = new Worker<CompletionJobData>(QUEUES.completions, null, {
      connection: workerConnection,
      prefix: keys.bullPrefix,
      autorun: false,
    });
    metrics = createWorkerMetrics(redis, keys);
    reconciler = new Reconciler({
      redis,
      keys,
      queue,
      requests,
      metrics,
      log: createLogger('worker', 'silent'),
      maxAttempts: 5,
      intervalMs: 60_000,
      minAgeMs: MIN_AGE_MS,
    });
  });
  afterAll(async () => {
    await fetcher?.close();
    await queue?.close();
    workerConnection?.disconnect();
  });

  let seq = 0;
  /** Stores a request (created `ageMs` ago) and enqueues its job with the production options. */
  const submit = async (ageMs: number, delay = 0): Promise<string> => {
    const id = `req_${String(++seq).padStart(26, '0')}`;
    await requests.create({
      id,
      tenantId: 'ten_x',
      tier: 'pro',
      model: 'gpt-4o-mini',
      priority: 'normal',
      createdAt: Date.now() - ageMs,
      metadata: {},
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: id }] },
    });
    await queue.add(
      'completion',
      { requestId: id, tenantId: 'ten_x' },
      {
        ...completionJobOptions(id, jobPriority('pro', 'normal'), { maxAttempts: 5 }),
        delay,
      },
    );
    return id;
  };
  /** Fetches the next job like a worker and marks its request in_progress, as the processor does first. */
  const take = async (id: string): Promise<Job<CompletionJobData>> => {
    const job = await fetcher.getNextJob(token, { block: false });
    expect(job?.id).toBe(id);
    expect(await requests.startAttempt(id, 1)).toBe('ok');
    return job as Job<CompletionJobData>;
  };
  const status = async (id: string) => (await requests.get(id))?.status;
  const isOpen = async (id: string) => (await redis.zscore(keys.openRequests(), id)) !== null;
  const repairs = async (action: string) =>
    (await metrics.reconciled.get()).values.find((v) => v.labels.action === action)?.value ?? 0;
  /** The next interval: the lease one sweep takes is what keeps replicas from sweeping together. */
  const nextSweep = async () => {
    await redis.del(keys.reconcilerLease());
    return reconciler.sweep();
  };

  it('fails an in_progress request whose job failed, with worker_lost, and leaves live jobs alone', async () => {
    // The job stalled more than maxStalledCount times: BullMQ failed it; nobody recorded that.
    const lost = await submit(60_000);
    const lostJob = await take(lost);
    await lostJob.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), token);
    expect(await queue.getJobState(lost)).toBe('failed');

    // Controls: a job a live worker holds, a job waiting for its retry, and a failed job whose
    // request is too young to judge (it may be mid-submit).
    const running = await submit(60_000);
    await take(running);
    const retrying = await submit(60_000, 60_000);
    const young = await submit(0);
    const youngJob = await take(young);
    await youngJob.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), token);

    expect(await reconciler.sweep()).toBe(1);

    const failed = await requests.get(lost);
    expect(failed?.status).toBe('failed');
    expect(failed?.error?.code).toBe('worker_lost');
    expect(failed?.error?.message).toContain('job stalled more than allowable limit');
    expect(failed?.completedAt).not.toBeNull();
    expect(await isOpen(lost)).toBe(false);
    // A terminal transition like any other: its webhook events are due (the outbox).
    expect(await redis.zscore(keys.webhookOutbox(), lost)).not.toBeNull();
    expect(await repairs('failed')).toBe(1);

    expect(await status(running)).toBe('in_progress');
    expect(await queue.getJobState(running)).toBe('active');
    expect(await status(retrying)).toBe('queued');
    expect(await queue.getJobState(retrying)).toBe('delayed');
    expect(await status(young)).toBe('in_progress');
    expect(await isOpen(young)).toBe(true);

    // Exactly one terminal state: the next sweep changes nothing.
    expect(await nextSweep()).toBe(0);
    expect(await requests.get(lost)).toEqual(failed);

    // Once the young request is old enough, it is repaired the same way.
    expect(await reconciler.sweep(Date.now() + MIN_AGE_MS + 1_000)).toBe(0); // the lease still holds
    await redis.del(keys.reconcilerLease());
    expect(await reconciler.sweep(Date.now() + MIN_AGE_MS + 1_000)).toBe(1);
    expect((await requests.get(young))?.error?.code).toBe('worker_lost');
    expect(await status(running)).toBe('in_progress');
  });

  it('re-enqueues an in_progress request whose job completed without finishing it (the job is removed)', async () => {
    const id = await submit(60_000);
    const job = await take(id);
    // Completed jobs are removed at once (removeOnComplete), so the record is all that is left.
    await job.moveToCompleted('returned without a result', token, false);
    expect(await queue.getJobState(id)).toBe('unknown');

    const before = await repairs('reenqueued');
    expect(await nextSweep()).toBe(1);
    expect(await repairs('reenqueued')).toBe(before + 1);
    // It will run again; it does not stay in_progress with nothing to move it on.
    expect(['prioritized', 'waiting']).toContain(await queue.getJobState(id));
    const again = await fetcher.getNextJob(token, { block: false });
    expect(again?.id).toBe(id);
    expect(again?.data).toEqual({ requestId: id, tenantId: 'ten_x' });
    expect(await status(id)).toBe('in_progress');
  });
});
