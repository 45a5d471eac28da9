import { createHash } from 'node:crypto';
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

/**
 * Waits for `work` at most `ms` milliseconds; true when it settled (resolved or rejected) in time.
 * Shutdown paths use it so that a Redis that went away first (Ctrl-C reaches every process of a
 * terminal at once) can never hold a process up: a close that would wait for a reconnect is abandoned.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
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

const shas = new Map<string, string>();

/**
 * Runs a Lua script by its SHA1 (EVALSHA), sending the source only the first time a server lacks it
 * (NOSCRIPT). Plain EVAL would resend every script's text on every call, which dominates the cost of
 * hot paths such as enqueueing 50,000 batch lines or an admission poll.
 */
export async function evalScript(
  redis: Redis,
  lua: string,
  numKeys: number,
  ...args: (string | number)[]
): Promise<unknown> {
  let sha = shas.get(lua);
  if (!sha) {
    sha = createHash('sha1').update(lua).digest('hex');
    shas.set(lua, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (err) {
    if (!String(err).includes('NOSCRIPT')) throw err;
    return redis.eval(lua, numKeys, ...args);
  }
}
