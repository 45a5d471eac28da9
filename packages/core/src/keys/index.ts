/**
 * Every Redis key and queue name Sluice uses, built in one place.
 * `prefix` isolates deployments (and tests) sharing one Redis.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** BullMQ prefix: BullMQ's own keys live under `<prefix>:q:<queue>:…`. */
    bullPrefix: `${prefix}:q`,
    /** Hash: a tenant's profile. */
    tenant: (tenantId: string) => `${prefix}:tenant:${tenantId}`,
    /** Set: ids of all tenants. */
    tenants: () => `${prefix}:tenants`,
    /** String (JSON): API key hash → {keyId, tenantId}. */
    apiKeyByHash: (sha256Hex: string) => `${prefix}:apikey:${sha256Hex}`,
    /** Hash: API key metadata by key id (holds the hash so revocation can find the lookup key). */
    apiKey: (keyId: string) => `${prefix}:key:${keyId}`,
    /** Hash: a request record (see requests/store.ts for fields). */
    request: (requestId: string) => `${prefix}:req:${requestId}`,
    /** String (JSON): idempotency key → {requestId, bodyHash}. */
    idempotency: (tenantId: string, keyHash: string) => `${prefix}:idem:${tenantId}:${keyHash}`,
    /** Sorted set: non-terminal request ids scored by creation time, watched by the reconciler. */
    openRequests: () => `${prefix}:open-requests`,
    /** Pub/sub channel: a request reached a terminal state (message = request id). */
    requestDoneChannel: () => `${prefix}:events:request-done`,
    /** String counter: completions in one 10-second bucket, for throughput estimates. */
    completionsBucket: (bucket: number) => `${prefix}:stats:completions:${bucket}`,
    /** Counter: total ms from first start to completion of the requests completed in a 10 s bucket. */
    durationsBucket: (bucket: number) => `${prefix}:stats:durations:${bucket}`,
    /** Hash: the rate-limit controller's model of one upstream + model (see upstream/ratelimit/scripts.ts). */
    rateLimit: (scopeId: string) => `${prefix}:rl:${scopeId}`,
    /** Sorted set: in-flight call leases of one scope, scored by expiry. */
    rateLimitLeases: (scopeId: string) => `${prefix}:rl:${scopeId}:leases`,
    /** Sorted set: callers waiting for budget, in priority-then-arrival order. */
    rateLimitWaiters: (scopeId: string) => `${prefix}:rl:${scopeId}:waiters`,
    /** Sorted set: when each waiter's place lapses unless it asks again. */
    rateLimitWaiterExpiry: (scopeId: string) => `${prefix}:rl:${scopeId}:waiters-exp`,
    /** Hash: scope id → {upstreamId, model}, so the controller's state can be listed. */
    rateLimitScopes: () => `${prefix}:rl-scopes`,
    /** Hash: the circuit breaker of one upstream + model. */
    breaker: (scopeId: string) => `${prefix}:cb:${scopeId}`,
    /** String: the aging sweeper's lease. */
    agingLease: () => `${prefix}:lease:aging`,
    /** String: the aging sweeper's watermark (creation time up to which requests were aged). */
    agingWatermark: () => `${prefix}:aging:watermark`,
    /** Hash: a webhook endpoint (url, events, enabled, secrets JSON, failing_since, …). */
    webhook: (endpointId: string) => `${prefix}:wh:${endpointId}`,
    /** Set: a tenant's webhook endpoint ids. */
    tenantWebhooks: (tenantId: string) => `${prefix}:tenant-wh:${tenantId}`,
    /** List: an endpoint's recent delivery ids, newest first (capped). */
    webhookDeliveries: (endpointId: string) => `${prefix}:wh:${endpointId}:deliveries`,
    /** Hash: one message to one endpoint (payload, status, attempts, last result). */
    delivery: (deliveryId: string) => `${prefix}:dlv:${deliveryId}`,
    /** List: a delivery's attempts, newest first (capped). */
    deliveryAttempts: (deliveryId: string) => `${prefix}:dlv:${deliveryId}:attempts`,
    /** Sorted set: terminal requests whose webhook events are not yet dispatched (the outbox). */
    webhookOutbox: () => `${prefix}:webhook-outbox`,
    /** String: the outbox sweeper's lease. */
    outboxLease: () => `${prefix}:lease:outbox`,
    /** Hash: an uploaded file's metadata (the bytes live in file storage under `storage_key`). */
    file: (fileId: string) => `${prefix}:file:${fileId}`,
    /** Sorted set: a tenant's file ids by creation time (ms), for cursor pagination. */
    tenantFiles: (tenantId: string) => `${prefix}:tenant-files:${tenantId}`,
    /** Sorted set: ids of files with an expiry, by expires_at (ms), for the file sweeper. */
    fileExpiries: () => `${prefix}:file-expiries`,
    /** String: the file sweeper's lease. */
    fileLease: () => `${prefix}:lease:files`,
    /** Hash: a batch (OpenAI's Batch object fields, counters, progress of enqueueing). */
    batch: (batchId: string) => `${prefix}:batch:${batchId}`,
    /** Sorted set: a tenant's batch ids by creation time (ms), for cursor pagination. */
    tenantBatches: (tenantId: string) => `${prefix}:tenant-batches:${tenantId}`,
    /** Set: batches not yet terminal, watched by the batch sweeper (completion, expiry). */
    activeBatches: () => `${prefix}:active-batches`,
    /** String: the batch sweeper's lease. */
    batchLease: () => `${prefix}:lease:batches`,
    /** String: the reconciler's lease, so one replica at a time sweeps. */
    reconcilerLease: () => `${prefix}:lease:reconciler`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** BullMQ queue names. */
export const QUEUES = {
  completions: 'completions',
  webhooks: 'webhooks',
  batches: 'batches',
} as const;

/**
 * The key of BullMQ's prioritized sorted set for a queue. BullMQ keeps its keys at
 * `<bullPrefix>:<queue>:<type>`; we read this one (ZRANK) to tell a client its queue position.
 */
export function bullPrioritizedKey(keys: RedisKeys, queue: string): string {
  return `${keys.bullPrefix}:${queue}:prioritized`;
}
