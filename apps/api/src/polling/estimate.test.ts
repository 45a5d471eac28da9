import {
  type CompletionJobData,
  completionJobOptions,
  createCompletionsQueue,
  createRedis,
  jobPriority,
  type Priority,
  type RedisKeys,
  type RequestRecord,
  RequestStore,
  redisKeys,
  type Tier,
} from '@sluice/core';
import { type RedisServerHandle, randomPrefix, startRedis } from '@sluice/testkit';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { estimateCompletion } from './estimate.js';

/**
 * The estimate reads two things from Redis: the request's rank in BullMQ's prioritized set (its queue
 * position) and the completions of the last six whole 10-second buckets (recent throughput). These
 * tests seed both in a real Redis, through a real BullMQ queue, and check the numbers a client sees.
 */
describe('estimateCompletion', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let queueConnection: Redis;
  let keys: RedisKeys;
  let queue: Queue<CompletionJobData>;
  let requests: RequestStore;
  // A fixed clock, 3.5 s into a 10-second bucket, so bucket arithmetic is exact.
  const now = 1_800_000_003_500;
  const bucket = Math.floor(now / 10_000);

  beforeAll(async () => {
    server = await startRedis();
    redis = createRedis(server.url, 'worker');
    queueConnection = createRedis(server.url, 'worker');
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    queueConnection?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await queue?.close();
    keys = redisKeys(randomPrefix('estimate'));
    queue = createCompletionsQueue(queueConnection, keys);
    requests = new RequestStore(redis, keys, {
      resultTtlSeconds: 3600,
      openTtlSeconds: 3600,
      idempotencyTtlSeconds: 3600,
    });
  });

  let seq = 0;
  /** Stores a queued request and enqueues its job the way the API does. */
  const enqueue = async (tier: Tier, priority: Priority = 'normal'): Promise<RequestRecord> => {
    const id = `req_${String(++seq).padStart(26, '0')}`;
    const created = await requests.create({
      id,
      tenantId: 'ten_x',
      tier,
      model: 'gpt-4o-mini',
      priority,
      createdAt: now,
      metadata: {},
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: id }] },
    });
    if (!created.created) throw new Error('record not created');
    await queue.add(
      'completion',
      { requestId: id, tenantId: 'ten_x' },
      completionJobOptions(id, jobPriority(tier, priority), { maxAttempts: 5 }),
    );
    return created.record;
  };
  /** `count` completions recorded `bucketsAgo` whole buckets before the current one. */
  const completions = (bucketsAgo: number, count: number) =>
    redis.set(keys.completionsBucket(bucket - bucketsAgo), String(count));

  it('counts the jobs ahead by priority, not arrival, and divides by the last minute’s throughput', async () => {
    const target = await enqueue('pro');
    // Enqueued later but in a better band: these run first, so they are ahead of the target.
    const enterprise: RequestRecord[] = [];
    for (let i = 0; i < 9; i++) enterprise.push(await enqueue('enterprise'));
    // Enqueued later in the same band, and in a worse band: behind the target.
    for (let i = 0; i < 3; i++) await enqueue('pro');
    for (let i = 0; i < 4; i++) await enqueue('free');
    // 120 completions over the last minute: 2 per second.
    await completions(1, 50);
    await completions(3, 40);
    await completions(6, 30);

    const estimate = await estimateCompletion(redis, keys, requests, target, now);
    // 9 ahead + itself = 10 jobs at 2/s = 5 s; poll again halfway there.
    expect(estimate.estimatedCompletionAt).toBe(Math.ceil(now / 1000 + 5));
    expect(estimate.retryAfterSeconds).toBe(3);

    // The first enterprise job is at the head of the queue: one job at 2/s.
    const first = await estimateCompletion(redis, keys, requests, enterprise[0] as RequestRecord, now);
    expect(first.estimatedCompletionAt).toBe(Math.ceil(now / 1000 + 0.5));
    expect(first.retryAfterSeconds).toBe(1);
  });

  it('ignores the current, still-filling bucket and buckets older than a minute', async () => {
    const target = await enqueue('pro');
    await completions(0, 10_000); // the current bucket: incomplete, not counted
    await completions(7, 10_000); // 70 s ago: outside the minute
    await completions(2, 6); // 6 per minute: 0.1 per second

    const estimate = await estimateCompletion(redis, keys, requests, target, now);
    expect(estimate.estimatedCompletionAt).toBe(Math.ceil(now / 1000 + 10));
    expect(estimate.retryAfterSeconds).toBe(5);
  });

  it('caps Retry-After at 30 s for a long queue, while the completion time keeps growing', async () => {
    const records: RequestRecord[] = [];
    for (let i = 0; i < 40; i++) records.push(await enqueue('free'));
    await completions(1, 30); // one every 2 s

    const last = records[39] as RequestRecord;
    const estimate = await estimateCompletion(redis, keys, requests, last, now);
    expect(estimate.estimatedCompletionAt).toBe(Math.ceil(now / 1000 + 80));
    expect(estimate.retryAfterSeconds).toBe(30);
    // Position is monotonic: each later request finishes no earlier than the one before it.
    const etas = await Promise.all(
      records.map(
        async (r) => (await estimateCompletion(redis, keys, requests, r, now)).estimatedCompletionAt,
      ),
    );
    expect(etas).toEqual([...(etas as number[])].sort((a, b) => a - b));
    expect(new Set(etas).size).toBe(40);
  });

  it('has no completion time when nothing completed in the last minute, and says to poll again in 2 s', async () => {
    const target = await enqueue('pro');
    await completions(0, 50); // only the current bucket: no finished bucket to measure
    const estimate = await estimateCompletion(redis, keys, requests, target, now);
    expect(estimate).toEqual({ retryAfterSeconds: 2, estimatedCompletionAt: null });
  });

  it('for a request in progress: its start plus how long recent requests took, at least a second away', async () => {
    const target = await enqueue('pro');
    const startedAt = now - 4_000;
    expect(await requests.startAttempt(target.id, 1, startedAt)).toBe('ok');
    const running = (await requests.get(target.id)) as RequestRecord;
    expect(running.status).toBe('in_progress');

    // Nothing completed recently: no estimate, poll again in a second.
    expect(await estimateCompletion(redis, keys, requests, running, now)).toEqual({
      retryAfterSeconds: 1,
      estimatedCompletionAt: null,
    });
    // 12 completions that took 10 s each from start to completion: 6 s left of this one's 10.
    await completions(1, 12);
    await redis.set(keys.durationsBucket(bucket - 1), String(12 * 10_000));
    expect(await estimateCompletion(redis, keys, requests, running, now)).toEqual({
      retryAfterSeconds: 3,
      estimatedCompletionAt: Math.ceil((startedAt + 10_000) / 1000),
    });
    // Running longer than the recent mean: expected within the second.
    expect(await estimateCompletion(redis, keys, requests, running, now + 20_000)).toMatchObject({
      retryAfterSeconds: 1,
    });
  });

  it('the durations come from real completions: FINISH adds start-to-completion time to the bucket', async () => {
    const a = await enqueue('pro');
    expect(await requests.startAttempt(a.id, 1, now - 2_500)).toBe('ok');
    expect(
      await requests.complete(a.id, { id: 'chatcmpl-x' }, null, { upstream: 'u', model: 'm' }, now),
    ).toBe('ok');
    expect(await redis.get(keys.durationsBucket(bucket))).toBe('2500');
    expect(await redis.get(keys.completionsBucket(bucket))).toBe('1');
    // Read one bucket later, it counts: one completion that took 2.5 s.
    expect(await requests.recentStats(now + 10_000)).toEqual({ throughput: 1 / 60, meanDurationMs: 2_500 });
  });
});
