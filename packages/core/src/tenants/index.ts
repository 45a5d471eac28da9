import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Tier } from '../contract/index.js';
import { newId, randomSecret } from '../ids/index.js';
import type { RedisKeys } from '../keys/index.js';

export interface Tenant {
  id: string;
  name: string;
  tier: Tier;
  created_at: number;
}

export interface ApiKeyInfo {
  id: string;
  tenant_id: string;
  created_at: number;
  /** The first characters of the key, so an operator can tell keys apart. */
  prefix: string;
}

/** Client API keys look like `sk-sluice-<43 chars>`; only their sha256 is stored. */
const KEY_PREFIX = 'sk-sluice-';
const hashKey = (raw: string) => createHash('sha256').update(raw).digest('hex');

/**
 * Tenants and their API keys. Lookups read Redis on every request (no cache), so revoking a key
 * takes effect at once for every API replica.
 */
export class TenantStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(name: string, tier: Tier, now = Date.now()): Promise<Tenant> {
    const tenant: Tenant = { id: newId('ten', now), name, tier, created_at: Math.floor(now / 1000) };
    await this.redis
      .multi()
      .hset(this.keys.tenant(tenant.id), { id: tenant.id, name, tier, created_at: String(tenant.created_at) })
      .sadd(this.keys.tenants(), tenant.id)
      .exec();
    return tenant;
  }

  async get(id: string): Promise<Tenant | null> {
    const h = await this.redis.hgetall(this.keys.tenant(id));
    if (!h.id) return null;
    return {
      id: h.id,
      name: h.name ?? '',
      tier: (h.tier ?? 'free') as Tier,
      created_at: Number(h.created_at),
    };
  }

  async list(): Promise<Tenant[]> {
    const ids = await this.redis.smembers(this.keys.tenants());
    const tenants = await Promise.all(ids.sort().map((id) => this.get(id)));
    return tenants.filter((t): t is Tenant => t !== null);
  }

  /** Issues a key for a tenant. The raw key is returned once and never stored. */
  async createKey(tenantId: string, now = Date.now()): Promise<{ info: ApiKeyInfo; key: string }> {
    const key = `${KEY_PREFIX}${randomSecret(32)}`;
    const hash = hashKey(key);
    const info: ApiKeyInfo = {
      id: newId('key', now),
      tenant_id: tenantId,
      created_at: Math.floor(now / 1000),
      prefix: key.slice(0, KEY_PREFIX.length + 4),
    };
    await this.redis
      .multi()
      .set(this.keys.apiKeyByHash(hash), JSON.stringify({ keyId: info.id, tenantId }))
      .hset(this.keys.apiKey(info.id), { ...info, created_at: String(info.created_at), hash })
      .exec();
    return { info, key };
  }

  /** Revokes a key at once. Returns false when no such key exists. */
  async revokeKey(keyId: string): Promise<boolean> {
    const hash = await this.redis.hget(this.keys.apiKey(keyId), 'hash');
    if (!hash) return false;
    await this.redis.multi().del(this.keys.apiKeyByHash(hash)).del(this.keys.apiKey(keyId)).exec();
    return true;
  }

  /** The tenant a raw API key belongs to, or null for an unknown or revoked key. */
  async authenticate(rawKey: string): Promise<{ tenant: Tenant; keyId: string } | null> {
    if (!rawKey.startsWith(KEY_PREFIX) || rawKey.length > 128) return null;
    const found = await this.redis.get(this.keys.apiKeyByHash(hashKey(rawKey)));
    if (!found) return null;
    const { keyId, tenantId } = JSON.parse(found) as { keyId: string; tenantId: string };
    const tenant = await this.get(tenantId);
    return tenant ? { tenant, keyId } : null;
  }
}
