import { Redis, type RedisOptions } from 'ioredis';

/**
 * Connections for the three roles we need. BullMQ workers demand `maxRetriesPerRequest: null`
 * (blocking commands must wait through reconnects); API-side connections fail fast instead so a
 * Redis outage answers 503 rather than hanging a client.
 */
export function createRedis(
  url: string,
  role: 'api' | 'worker' | 'subscriber',
  extra: RedisOptions = {},
): Redis {
  const base: RedisOptions = {
    lazyConnect: false,
    connectionName: `sluice-${role}`,
    ...(role === 'api'
      ? { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5_000, commandTimeout: 10_000 }
      : { maxRetriesPerRequest: null }),
    ...extra,
  };
  return new Redis(url, base);
}

/** Quits a connection, falling back to disconnect when Redis is unreachable. Safe to call twice. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([
      redis.quit(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 1_000)),
    ]);
  } catch {
    redis.disconnect();
  }
}
