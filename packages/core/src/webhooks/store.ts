import type { Redis } from 'ioredis';
import { newId } from '../ids/index.js';
import type { RedisKeys } from '../keys/index.js';
import type { WebhookEndpointView, WebhookEventType } from './contract.js';
import { newWebhookSecret } from './signing.js';

/** A signing secret; a rotated-out one keeps signing until `expires_at` (ms). */
interface StoredSecret {
  secret: string;
  expires_at: number | null;
}

export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  events: string[];
  enabled: boolean;
  description: string | null;
  createdAt: number;
  disabledReason: string | null;
  failingSince: number | null;
  secrets: StoredSecret[];
}

/** One message to one endpoint, retried until it lands or gives up. */
export interface Delivery {
  id: string;
  endpointId: string;
  tenantId: string;
  /** The Standard Webhooks `webhook-id`: the same for every attempt, the receiver's idempotency key. */
  messageId: string;
  event: WebhookEventType;
  payload: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  createdAt: number;
  lastAttemptAt: number | null;
  nextRetryAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastLatencyMs: number | null;
}

export interface DeliveryAttempt {
  at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

/** Retention of delivery records, and how many recent ones an endpoint lists. */
const DELIVERY_TTL_SECONDS = 7 * 86_400;
const RECENT_DELIVERIES = 100;
const ATTEMPTS_KEPT = 20;

const parse = <T>(s: string | undefined, fallback: T): T => (s ? (JSON.parse(s) as T) : fallback);
const num = (s: string | undefined) => (s ? Number(s) : null);

/** Webhook endpoints and deliveries in Redis (keys in keys/index.ts). */
export class WebhookStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(
    tenantId: string,
    input: { url: string; events: string[]; description?: string | undefined },
    now = Date.now(),
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const secret = newWebhookSecret();
    const endpoint: WebhookEndpoint = {
      id: newId('wh', now),
      tenantId,
      url: input.url,
      events: input.events,
      enabled: true,
      description: input.description ?? null,
      createdAt: now,
      disabledReason: null,
      failingSince: null,
      secrets: [{ secret, expires_at: null }],
    };
    await this.redis
      .multi()
      .hset(this.keys.webhook(endpoint.id), this.toHash(endpoint))
      .sadd(this.keys.tenantWebhooks(tenantId), endpoint.id)
      .exec();
    return { endpoint, secret };
  }

  async get(id: string): Promise<WebhookEndpoint | null> {
    const h = await this.redis.hgetall(this.keys.webhook(id));
    if (!h.id) return null;
    return {
      id: h.id,
      tenantId: h.tenant_id ?? '',
      url: h.url ?? '',
      events: parse<string[]>(h.events, []),
      enabled: h.enabled === '1',
      description: h.description || null,
      createdAt: Number(h.created_at),
      disabledReason: h.disabled_reason || null,
      failingSince: num(h.failing_since),
      secrets: parse<StoredSecret[]>(h.secrets, []),
    };
  }

  async list(tenantId: string): Promise<WebhookEndpoint[]> {
    const ids = (await this.redis.smembers(this.keys.tenantWebhooks(tenantId))).sort();
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((e): e is WebhookEndpoint => e !== null);
  }

  /** The tenant's endpoint registered with exactly this URL, if any. */
  async findByUrl(tenantId: string, url: string): Promise<WebhookEndpoint | null> {
    return (await this.list(tenantId)).find((e) => e.url === url) ?? null;
  }

  async update(
    id: string,
    patch: { url?: string; events?: string[]; enabled?: boolean; description?: string },
  ): Promise<void> {
    const fields: Record<string, string> = {};
    if (patch.url !== undefined) fields.url = patch.url;
    if (patch.events !== undefined) fields.events = JSON.stringify(patch.events);
    if (patch.description !== undefined) fields.description = patch.description;
    if (patch.enabled !== undefined) {
      fields.enabled = patch.enabled ? '1' : '0';
      // Re-enabling clears why it was disabled and gives it a fresh failure clock.
      fields.disabled_reason = patch.enabled ? '' : 'manual';
      if (patch.enabled) fields.failing_since = '';
    }
    await this.redis.hset(this.keys.webhook(id), fields);
  }

  async delete(endpoint: WebhookEndpoint): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.webhook(endpoint.id))
      .srem(this.keys.tenantWebhooks(endpoint.tenantId), endpoint.id)
      .exec();
  }

  /** A new secret; the current ones keep signing for `graceSeconds` so receivers can switch over. */
  async rotateSecret(endpoint: WebhookEndpoint, graceSeconds: number, now = Date.now()): Promise<string> {
    const secret = newWebhookSecret();
    const kept = endpoint.secrets
      .filter((s) => s.expires_at === null || s.expires_at > now)
      .map((s) => ({
        secret: s.secret,
        expires_at: Math.min(s.expires_at ?? Infinity, now + graceSeconds * 1000),
      }));
    const secrets: StoredSecret[] = [{ secret, expires_at: null }, ...kept];
    await this.redis.hset(this.keys.webhook(endpoint.id), 'secrets', JSON.stringify(secrets));
    return secret;
  }

  /** The secrets that sign a delivery now: the current one first, then any still in their grace period. */
  static activeSecrets(endpoint: WebhookEndpoint, now = Date.now()): string[] {
    return endpoint.secrets.filter((s) => s.expires_at === null || s.expires_at > now).map((s) => s.secret);
  }

  async disable(id: string, reason: 'gone' | 'failing'): Promise<void> {
    await this.redis.hset(this.keys.webhook(id), { enabled: '0', disabled_reason: reason });
  }

  /** Marks the endpoint failing (once) and returns since when it has been failing. */
  async markFailing(id: string, now = Date.now()): Promise<number> {
    const key = this.keys.webhook(id);
    await this.redis.hsetnx(key, 'failing_since', String(now));
    const since = Number(await this.redis.hget(key, 'failing_since'));
    if (!since) {
      await this.redis.hset(key, 'failing_since', String(now));
      return now;
    }
    return since;
  }

  async markHealthy(id: string): Promise<void> {
    await this.redis.hset(this.keys.webhook(id), 'failing_since', '');
  }

  /** Creates a delivery unless this message already has one for this endpoint (idempotent). */
  async createDelivery(
    input: Pick<Delivery, 'endpointId' | 'tenantId' | 'messageId' | 'event' | 'payload'>,
    now = Date.now(),
  ): Promise<{ delivery: Delivery; created: boolean }> {
    const id = `dlv_${input.messageId.replace(/^msg_/, '')}_${input.endpointId.replace(/^wh_/, '')}`;
    const delivery: Delivery = {
      ...input,
      id,
      status: 'pending',
      attempts: 0,
      createdAt: now,
      lastAttemptAt: null,
      nextRetryAt: now,
      lastStatusCode: null,
      lastError: null,
      lastLatencyMs: null,
    };
    const key = this.keys.delivery(id);
    const created = (await this.redis.hsetnx(key, 'id', id)) === 1;
    if (created) {
      await this.redis
        .multi()
        .hset(key, {
          endpoint_id: delivery.endpointId,
          tenant_id: delivery.tenantId,
          message_id: delivery.messageId,
          event: delivery.event,
          payload: delivery.payload,
          status: delivery.status,
          attempts: '0',
          created_at: String(now),
          next_retry_at: String(now),
        })
        .expire(key, DELIVERY_TTL_SECONDS)
        .lpush(this.keys.webhookDeliveries(delivery.endpointId), id)
        .ltrim(this.keys.webhookDeliveries(delivery.endpointId), 0, RECENT_DELIVERIES - 1)
        .exec();
      return { delivery, created };
    }
    return { delivery: (await this.getDelivery(id)) ?? delivery, created };
  }

  async getDelivery(id: string): Promise<Delivery | null> {
    const h = await this.redis.hgetall(this.keys.delivery(id));
    if (!h.id || !h.endpoint_id) return null;
    return {
      id: h.id,
      endpointId: h.endpoint_id,
      tenantId: h.tenant_id ?? '',
      messageId: h.message_id ?? '',
      event: (h.event ?? 'webhook.test') as WebhookEventType,
      payload: h.payload ?? '',
      status: (h.status ?? 'pending') as Delivery['status'],
      attempts: Number(h.attempts ?? 0),
      createdAt: Number(h.created_at),
      lastAttemptAt: num(h.last_attempt_at),
      nextRetryAt: num(h.next_retry_at),
      lastStatusCode: num(h.last_status_code),
      lastError: h.last_error || null,
      lastLatencyMs: num(h.last_latency_ms),
    };
  }

  /** Records one attempt and the delivery's resulting state. */
  async recordAttempt(
    id: string,
    attempt: DeliveryAttempt,
    result: { status: Delivery['status']; nextRetryAt: number | null },
  ): Promise<void> {
    const key = this.keys.delivery(id);
    await this.redis
      .multi()
      .hincrby(key, 'attempts', 1)
      .hset(key, {
        status: result.status,
        last_attempt_at: String(attempt.at),
        next_retry_at: result.nextRetryAt === null ? '' : String(result.nextRetryAt),
        last_status_code: attempt.status_code === null ? '' : String(attempt.status_code),
        last_error: attempt.error ?? '',
        last_latency_ms: String(attempt.latency_ms),
      })
      .lpush(this.keys.deliveryAttempts(id), JSON.stringify(attempt))
      .ltrim(this.keys.deliveryAttempts(id), 0, ATTEMPTS_KEPT - 1)
      .expire(this.keys.deliveryAttempts(id), DELIVERY_TTL_SECONDS)
      .exec();
  }

  /** Puts a finished delivery back to pending for a manual retry. */
  async resetForRetry(id: string, now = Date.now()): Promise<void> {
    await this.redis.hset(this.keys.delivery(id), { status: 'pending', next_retry_at: String(now) });
  }

  async attempts(id: string): Promise<DeliveryAttempt[]> {
    return (await this.redis.lrange(this.keys.deliveryAttempts(id), 0, -1)).map(
      (a) => JSON.parse(a) as DeliveryAttempt,
    );
  }

  /** An endpoint's recent deliveries, newest first. */
  async recentDeliveries(endpointId: string, limit: number): Promise<Delivery[]> {
    const ids = await this.redis.lrange(this.keys.webhookDeliveries(endpointId), 0, limit - 1);
    const all = await Promise.all(ids.map((id) => this.getDelivery(id)));
    return all.filter((d): d is Delivery => d !== null);
  }

  private toHash(e: WebhookEndpoint): Record<string, string> {
    return {
      id: e.id,
      tenant_id: e.tenantId,
      url: e.url,
      events: JSON.stringify(e.events),
      enabled: e.enabled ? '1' : '0',
      description: e.description ?? '',
      created_at: String(e.createdAt),
      disabled_reason: e.disabledReason ?? '',
      failing_since: e.failingSince === null ? '' : String(e.failingSince),
      secrets: JSON.stringify(e.secrets),
    };
  }
}

/** The tenant-facing view of an endpoint. */
export function toWebhookView(e: WebhookEndpoint): WebhookEndpointView {
  return {
    id: e.id,
    object: 'webhook_endpoint',
    url: e.url,
    events: e.events,
    enabled: e.enabled,
    description: e.description,
    created_at: Math.floor(e.createdAt / 1000),
    disabled_reason: e.disabledReason,
    failing_since: e.failingSince === null ? null : Math.floor(e.failingSince / 1000),
  };
}
