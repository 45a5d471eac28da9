import { createRedis, type RedisKeys, RequestStore } from '@sluice/core';
import { type RedisServerHandle, startRedis } from '@sluice/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

export interface TestRedis {
  server: RedisServerHandle;
  /** Commands (stores, sweepers). */
  redis: Redis;
  /** For BullMQ queues, which keep their own connection. */
  queueConnection: Redis;
}

/**
 * A redis-server of its own for the enclosing describe block, with two worker connections to it;
 * all closed after the block. The fields are set once the block's tests run.
 */
export function useRedis(): TestRedis {
  const r = {} as TestRedis;
  beforeAll(async () => {
    r.server = await startRedis();
    r.redis = createRedis(r.server.url, 'worker');
    r.queueConnection = createRedis(r.server.url, 'worker');
  });
  afterAll(async () => {
    r.redis?.disconnect();
    r.queueConnection?.disconnect();
    await r.server?.stop();
  });
  return r;
}

/** A RequestStore that keeps everything for an hour: no test here waits on retention. */
export const requestStore = (redis: Redis, keys: RedisKeys) =>
  new RequestStore(redis, keys, {
    resultTtlSeconds: 3600,
    openTtlSeconds: 3600,
    idempotencyTtlSeconds: 3600,
  });
