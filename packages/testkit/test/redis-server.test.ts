import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServerHandle, randomPrefix, startRedis } from '../src/index.js';

/** Resolves with the socket error code, or 'connected' if something accepted the connection. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('startRedis', () => {
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  const start = async (options?: Parameters<typeof startRedis>[0]) => {
    const server = await startRedis(options);
    servers.push(server);
    return server;
  };
  const client = (server: RedisServerHandle) => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    clients.push(redis);
    return redis;
  };

  afterEach(async () => {
    for (const redis of clients.splice(0)) redis.disconnect();
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  it('starts a local redis-server on an ephemeral port with the test configuration', async () => {
    const server = await start();
    expect(server.kind).toBe('process');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const redis = client(server);
    const key = `${randomPrefix('redis')}:greeting`;
    await redis.set(key, 'hello');
    expect(await redis.get(key)).toBe('hello');
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await redis.config('GET', 'save')).toEqual(['save', '']);
    expect(await redis.config('GET', 'dir')).toEqual(['dir', server.dir]);
    expect(await server.logs()).toContain('Ready to accept connections');
  });

  it('gives parallel servers distinct ports and directories', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a?.port).not.toBe(b?.port);
    expect(a?.dir).not.toBe(b?.dir);
  });

  it('kill() crashes the server; restart() reloads the AOF on the same port', async () => {
    const server = await start({ appendOnly: true });
    const redis = client(server);
    await redis.set('survivor', 'still here');
    redis.disconnect();

    await server.kill();
    expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');

    await server.restart();
    const again = client(server);
    expect(await again.get('survivor')).toBe('still here');
  });

  it('restart() without appendOnly starts empty, proving the server really restarted', async () => {
    const server = await start();
    const redis = client(server);
    await redis.set('ephemeral', '1');
    redis.disconnect();
    await server.restart();
    expect(await client(server).get('ephemeral')).toBeNull();
  });

  it('stop() is safe to call twice, removes the data directory and forbids restart()', async () => {
    const server = await start({ appendOnly: true });
    await server.stop();
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
    expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');
    await expect(server.restart()).rejects.toThrow(/restart\(\) after stop\(\)/);
  });

  it('pause() freezes the server until the pause ends', async () => {
    const server = await start();
    const redis = new Redis(server.url, { commandTimeout: 100, maxRetriesPerRequest: 0 });
    clients.push(redis);
    await redis.ping();
    const paused = server.pause(1_000);
    await expect(redis.ping()).rejects.toThrow(/timed out/i);
    await paused;
    expect(await client(server).ping()).toBe('PONG');
  });

  it('refuses a fixed port that is already taken, naming the cause', async () => {
    const first = await start();
    await expect(startRedis({ port: first.port })).rejects.toThrow(/Address already in use/);
  });

  it('fails clearly when REDIS_SERVER_BIN is wrong', async () => {
    const saved = process.env.REDIS_SERVER_BIN;
    process.env.REDIS_SERVER_BIN = '/nonexistent/redis-server';
    try {
      await expect(startRedis()).rejects.toThrow(/REDIS_SERVER_BIN=\/nonexistent\/redis-server/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_SERVER_BIN;
      else process.env.REDIS_SERVER_BIN = saved;
    }
  });
});
