import { loadApiConfig, startApi } from '@sluice/api';
import { createLogger, redisKeys, sha256 } from '@sluice/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chat, type System, startSystem } from './support/system.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
interface TenantBody {
  id: string;
  object: string;
  name: string;
  tier: string;
  created_at: number;
}
interface KeyBody {
  id: string;
  object: string;
  key: string;
  tenant_id: string;
  prefix: string;
}

/** Every key and value in a Redis, as raw bytes: what an attacker with a dump of it would see. */
async function dumpRedis(redis: Redis): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  for (const key of keys) {
    out.push(Buffer.from(key));
    const type = await redis.type(key);
    if (type === 'string') out.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
    else if (type === 'hash')
      out.push(
        ...(await redis.hgetallBuffer(key).then((h) =>
          Object.entries(h)
            .flat()
            .map((v) => Buffer.from(v)),
        )),
      );
    else if (type === 'list') out.push(...(await redis.lrangeBuffer(key, 0, -1)));
    else if (type === 'set') out.push(...(await redis.smembersBuffer(key)));
    else if (type === 'zset') out.push(...(await redis.zrangeBuffer(key, '0', '-1')));
    else if (type === 'stream')
      for (const [id, fields] of await redis.xrange(key, '-', '+'))
        out.push(Buffer.from(id), ...fields.map((f) => Buffer.from(f)));
    else throw new Error(`dumpRedis: unexpected type ${type} of ${key}`);
  }
  return out;
}

/** The operator API: tenants and their keys, behind ADMIN_TOKEN. */
describe('admin API', () => {
  let sys: System;
  let redis: Redis;
  const admin = (path: string, init: RequestInit = {}, token: string | null = ADMIN_TOKEN) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set('Authorization', `Bearer ${token}`);
    if (init.body) headers.set('Content-Type', 'application/json');
    return fetch(`${sys.api.url}${path}`, { ...init, headers });
  };
  const createTenant = (body: unknown, token?: string | null) =>
    admin('/admin/tenants', { method: 'POST', body: JSON.stringify(body) }, token);
  const createKey = (tenantId: string, token?: string | null) =>
    admin(`/admin/tenants/${tenantId}/keys`, { method: 'POST' }, token);
  /** A client call with a raw key: 404 for an unknown request id means the key authenticated. */
  const clientStatus = async (key: string) =>
    (
      await fetch(`${sys.api.url}/v1/requests/req_00000000000000000000000000`, {
        headers: { Authorization: `Bearer ${key}` },
      })
    ).status;
  const expectError = async (res: Response, status: number, code: string, param?: string | null) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as ErrorBody;
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.code).toBe(code);
    if (param !== undefined) expect(body.error.param).toBe(param);
    return body.error;
  };

  beforeAll(async () => {
    sys = await startSystem({ workers: 0 });
    redis = new Redis(sys.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await sys?.close();
  });

  it('POST /admin/tenants answers 201 with the tenant, for each tier, and it can be read back', async () => {
    for (const tier of ['enterprise', 'pro', 'free']) {
      const res = await createTenant({ name: `acme ${tier}`, tier });
      expect(res.status).toBe(201);
      const tenant = (await res.json()) as TenantBody;
      expect(tenant).toMatchObject({ object: 'tenant', name: `acme ${tier}`, tier });
      expect(tenant.id).toMatch(/^ten_[0-9a-z]+$/);
      expect(tenant.created_at).toBeGreaterThan(1_700_000_000);
      const read = await admin(`/admin/tenants/${tenant.id}`);
      expect(read.status).toBe(200);
      expect(await read.json()).toEqual(tenant);
    }
  });

  it('answers 400 in the OpenAI error shape naming the field for a bad tier, a missing name, an unknown field', async () => {
    const before = await redis.scard(redisKeys(sys.prefix).tenants());
    const err = await expectError(
      await createTenant({ name: 'x', tier: 'platinum' }),
      400,
      'invalid_request',
      'tier',
    );
    expect(err.type).toBe('invalid_request_error');
    expect(err.message).toContain('tier');
    await expectError(await createTenant({ tier: 'pro' }), 400, 'invalid_request', 'name');
    await expectError(
      await createTenant({ name: 'x', tier: 'pro', quota: 5 }),
      400,
      'invalid_request',
      'quota',
    );
    await expectError(
      await admin('/admin/tenants', { method: 'POST', body: '{"name":' }),
      400,
      'invalid_json',
    );
    expect(await redis.scard(redisKeys(sys.prefix).tenants())).toBe(before);
  });

  it('answers 401 without the admin token, with a wrong one, and with a client key, and changes nothing', async () => {
    const tenant = (await (await createTenant({ name: 'auth', tier: 'pro' })).json()) as TenantBody;
    const key = (await (await createKey(tenant.id)).json()) as KeyBody;
    const tenantsBefore = await redis.scard(redisKeys(sys.prefix).tenants());
    for (const [token, code] of [
      [null, 'missing_api_key'],
      ['wrong-admin-token-0123456789', 'invalid_api_key'],
      [`${ADMIN_TOKEN}x`, 'invalid_api_key'],
      [key.key, 'invalid_api_key'],
    ] as const) {
      const attempts = [
        await createTenant({ name: 'intruder', tier: 'enterprise' }, token),
        await createKey(tenant.id, token),
        await admin(`/admin/keys/${key.id}`, { method: 'DELETE' }, token),
        await admin('/admin/tenants', {}, token),
      ];
      for (const res of attempts) {
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        await expectError(res, 401, code);
      }
    }
    expect(await redis.scard(redisKeys(sys.prefix).tenants())).toBe(tenantsBefore);
    expect(await clientStatus(key.key)).toBe(404); // the key survived the DELETE attempts
  });

  it('POST /admin/tenants/{id}/keys answers 201 {id, key}; Redis holds only the key’s hash, which authenticates', async () => {
    const tenant = (await (await createTenant({ name: 'keys', tier: 'pro' })).json()) as TenantBody;
    const res = await createKey(tenant.id);
    expect(res.status).toBe(201);
    const key = (await res.json()) as KeyBody;
    expect(key.id).toMatch(/^key_[0-9a-z]+$/);
    expect(key.key).toMatch(/^sk-sluice-[A-Za-z0-9_-]{32,}$/);
    expect(key.tenant_id).toBe(tenant.id);
    const second = (await (await createKey(tenant.id)).json()) as KeyBody;
    expect(second.key).not.toBe(key.key);
    expect(second.id).not.toBe(key.id);

    // The key works for the client API, as that tenant.
    expect(await clientStatus(key.key)).toBe(404);
    const submitted = await fetch(`${sys.api.url}/v1/requests`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(chat('hello from a fresh key')),
    });
    expect(submitted.status).toBe(202);
    const { id: requestId } = (await submitted.json()) as { id: string };
    expect(await redis.hget(redisKeys(sys.prefix).request(requestId), 'tenant_id')).toBe(tenant.id);

    // Shown once, stored only as a hash: neither raw key appears in any key or value in Redis.
    const dump = await dumpRedis(redis);
    expect(dump.length).toBeGreaterThan(10);
    for (const raw of [key.key, second.key]) {
      // The secret part alone, too (a stored key with its prefix stripped is still a leak).
      const secret = raw.slice('sk-sluice-'.length);
      expect(dump.filter((b) => b.includes(raw) || b.includes(secret))).toEqual([]);
      // What is stored is its hash (seen by the same scan, so the scan does see the key material).
      expect(dump.some((b) => b.includes(sha256(raw)))).toBe(true);
      expect(await redis.exists(redisKeys(sys.prefix).apiKeyByHash(sha256(raw)))).toBe(1);
    }
  });

  it('DELETE /admin/keys/{id} revokes at once: the next call is 401, other keys keep working', async () => {
    const tenant = (await (await createTenant({ name: 'revoke', tier: 'free' })).json()) as TenantBody;
    const doomed = (await (await createKey(tenant.id)).json()) as KeyBody;
    const kept = (await (await createKey(tenant.id)).json()) as KeyBody;
    expect(await clientStatus(doomed.key)).toBe(404);

    const res = await admin(`/admin/keys/${doomed.id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: doomed.id, deleted: true });
    expect(await clientStatus(doomed.key)).toBe(401);
    await expectError(
      await fetch(`${sys.api.url}/v1/requests`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${doomed.key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(chat('after revocation')),
      }),
      401,
      'invalid_api_key',
    );
    expect(await redis.exists(redisKeys(sys.prefix).apiKeyByHash(sha256(doomed.key)))).toBe(0);
    expect(await clientStatus(kept.key)).toBe(404);
    // Revoking twice: the key is gone.
    await expectError(await admin(`/admin/keys/${doomed.id}`, { method: 'DELETE' }), 404, 'not_found', 'id');
  });

  it('answers 404 for an unknown tenant or key', async () => {
    await expectError(await createKey('ten_doesnotexist'), 404, 'not_found', 'id');
    await expectError(await admin('/admin/tenants/ten_doesnotexist'), 404, 'not_found', 'id');
    await expectError(
      await admin('/admin/keys/key_doesnotexist', { method: 'DELETE' }),
      404,
      'not_found',
      'id',
    );
    expect(await redis.exists(redisKeys(sys.prefix).tenant('ten_doesnotexist'))).toBe(0);
  });

  it('with ADMIN_TOKEN unset the admin API is disabled (403), whatever token is sent', async () => {
    const api = await startApi(
      loadApiConfig({ ...sys.env, ADMIN_TOKEN: '', PORT: '0' }),
      createLogger('api', 'silent'),
    );
    try {
      for (const auth of [undefined, 'Bearer ', `Bearer ${ADMIN_TOKEN}`, 'Bearer undefined']) {
        const res = await fetch(`${api.url}/admin/tenants`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
          body: JSON.stringify({ name: 'x', tier: 'pro' }),
        });
        await expectError(res, 403, 'admin_disabled');
      }
    } finally {
      await api.close();
    }
  });
});
