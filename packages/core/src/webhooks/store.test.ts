import { type RedisServerHandle, randomPrefix, startRedis } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../keys/index.js';
import { signWebhook } from './signing.js';
import { WebhookStore } from './store.js';

describe('WebhookStore secret rotation (real Redis)', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let store: WebhookStore;
  const T = Date.UTC(2030, 0, 1);
  const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date(T).toISOString(), data: {} });

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    store = new WebhookStore(redis, redisKeys(randomPrefix('whstore')));
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  const reload = async (id: string) => {
    const e = await store.get(id);
    if (!e) throw new Error(`endpoint ${id} vanished`);
    return e;
  };

  it('the old secret signs during the grace period and no longer once it has ended', async () => {
    const { endpoint, secret: oldSecret } = await store.create('t1', {
      url: 'https://example.com/a',
      events: ['request.completed'],
    });
    expect(WebhookStore.activeSecrets(endpoint, T)).toEqual([oldSecret]);
    const newSecret = await store.rotateSecret(endpoint, 60, T);
    const rotated = await reload(endpoint.id);

    expect(WebhookStore.activeSecrets(rotated, T)).toEqual([newSecret, oldSecret]);
    expect(WebhookStore.activeSecrets(rotated, T + 59_999)).toEqual([newSecret, oldSecret]);
    expect(WebhookStore.activeSecrets(rotated, T + 60_000)).toEqual([newSecret]);
    expect(WebhookStore.activeSecrets(rotated, T + 86_400_000)).toEqual([newSecret]);

    // What a delivery after the grace period carries: one signature, which the old secret rejects.
    const at = new Date(Date.now());
    const headers = signWebhook('msg_1', at, body, WebhookStore.activeSecrets(rotated, T + 60_000));
    expect(headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(new Webhook(newSecret).verify(body, headers)).toBeTruthy();
    expect(() => new Webhook(oldSecret).verify(body, headers)).toThrow();
  });

  it('a second rotation within the grace period keeps the first expiry, and expired secrets are dropped', async () => {
    const { endpoint, secret: s1 } = await store.create('t1', {
      url: 'https://example.com/b',
      events: ['request.completed'],
    });
    const s2 = await store.rotateSecret(endpoint, 60, T);
    const s3 = await store.rotateSecret(await reload(endpoint.id), 60, T + 30_000);
    const twice = await reload(endpoint.id);
    expect(WebhookStore.activeSecrets(twice, T + 30_000)).toEqual([s3, s2, s1]);
    // s1's grace is not extended by the second rotation.
    expect(WebhookStore.activeSecrets(twice, T + 60_000)).toEqual([s3, s2]);
    expect(WebhookStore.activeSecrets(twice, T + 90_000)).toEqual([s3]);

    const s4 = await store.rotateSecret(twice, 60, T + 100_000);
    const after = await reload(endpoint.id);
    expect(after.secrets.map((s) => s.secret)).toEqual([s4, s3]);
  });

  it('a grace period of 0 retires the old secret at once', async () => {
    const { endpoint, secret: oldSecret } = await store.create('t1', {
      url: 'https://example.com/c',
      events: ['request.completed'],
    });
    const newSecret = await store.rotateSecret(endpoint, 0, T);
    const rotated = await reload(endpoint.id);
    expect(WebhookStore.activeSecrets(rotated, T)).toEqual([newSecret]);
    expect(WebhookStore.activeSecrets(rotated, T)).not.toContain(oldSecret);
  });
});
