import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  Priority,
  RequestError,
  RequestStatus,
  RequestView,
  ServedBy,
  Tier,
  Usage,
} from '../contract/index.js';
import type { RedisKeys } from '../keys/index.js';
import { evalScript } from '../redis/index.js';
import { CREATE_BATCH_LINES, CREATE_REQUEST, FINISH, REQUEUE, START_ATTEMPT } from './scripts.js';

/** Retention settings of request records. */
export interface RequestStoreOptions {
  /** How long a record is kept after it reaches a terminal state. Default 86400 (24 h). */
  resultTtlSeconds: number;
  /** Upper bound on how long a non-terminal record lives (a safety net, not a deadline). Default 7 days. */
  openTtlSeconds: number;
  /** How long an Idempotency-Key is remembered. Default 86400 (24 h). */
  idempotencyTtlSeconds: number;
}

/** A request record as stored (a Redis hash, see {@link RequestStore}). */
export interface RequestRecord {
  id: string;
  tenantId: string;
  tier: Tier;
  status: RequestStatus;
  model: string;
  priority: Priority;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  attempts: number;
  metadata: Record<string, string>;
  /** The upstream request body; dropped once the request is terminal. */
  body: Record<string, unknown> | null;
  response: unknown | null;
  error: RequestError | null;
  usage: Usage | null;
  servedBy: ServedBy | null;
  /** 429s met so far (they spend no attempt, but are bounded). */
  rateLimited: number;
  /** When the request first found every upstream unavailable (ms), or null. */
  unavailableSince: number | null;
  /** The one endpoint this request's events go to (`webhook_url` at submit), or null for all. */
  webhookEndpointId:
    | string
    | null /** The API endpoint the body is for (`/v1/chat/completions` or `/v1/embeddings`). */;
  endpoint: string;
  /** Set for a line of a batch. */
  batchId: string | null;
  customId: string | null;
  line: number | null;
}

/** What a submission provides; everything else starts empty. */
export type NewRequest = Pick<
  RequestRecord,
  'id' | 'tenantId' | 'tier' | 'model' | 'priority' | 'createdAt' | 'metadata' | 'body'
> & {
  webhookEndpointId?: string | null;
  /** The API endpoint the body is for; default `/v1/chat/completions`. */
  endpoint?: string;
};

export type CreateResult =
  | { created: true; record: RequestRecord }
  | { created: false; existingId: string; sameBody: boolean };

export type FinishResult = 'ok' | 'missing' | RequestStatus;

const parseJson = <T>(s: string | undefined): T | null => (s ? (JSON.parse(s) as T) : null);
const num = (s: string | undefined): number | null => (s ? Number(s) : null);

/** sha256 hex of a string, used for idempotency keys and request bodies. */
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A chunk of batch lines to store as request records (see RequestStore.createBatchLines). */
export interface NewBatchLines {
  tenantId: string;
  tier: Tier;
  createdAt: number;
  endpoint: string;
  batchId: string;
  /** The end of the batch's completion window (ms): records are kept at least until then. */
  expiresAt: number;
  lines: { id: string; model: string; customId: string; line: number; body: Record<string, unknown> }[];
}

/**
 * Request records in Redis: one hash per request (`<prefix>:req:<id>`), changed only through the Lua
 * scripts in scripts.ts. Fields: id, tenant_id, tier, status, model, priority, created_at, started_at,
 * completed_at (ms), attempts, metadata, body, response, error, usage, last_error (JSON where structured).
 */
export class RequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly options: RequestStoreOptions,
  ) {}

  /** Creates a record, or returns the request an idempotency key already points at. */
  async create(input: NewRequest, idempotencyKey?: string): Promise<CreateResult> {
    const bodyJson = JSON.stringify(input.body);
    const bodyHash = sha256(
      `${bodyJson}\n${input.priority}\n${JSON.stringify(input.metadata)}\n${input.webhookEndpointId ?? ''}`,
    );
    const idemKey = idempotencyKey ? this.keys.idempotency(input.tenantId, sha256(idempotencyKey)) : '';
    const fields: string[] = [
      'id',
      input.id,
      'tenant_id',
      input.tenantId,
      'tier',
      input.tier,
      'status',
      'queued',
      'model',
      input.model,
      'priority',
      input.priority,
      'created_at',
      String(input.createdAt),
      'attempts',
      '0',
      'metadata',
      JSON.stringify(input.metadata),
      'body',
      bodyJson,
    ];
    if (input.webhookEndpointId) fields.push('webhook_endpoint_id', input.webhookEndpointId);
    if (input.endpoint) fields.push('endpoint', input.endpoint);
    const existing = (await evalScript(
      this.redis,
      CREATE_REQUEST,
      3,
      this.keys.request(input.id),
      idemKey,
      this.keys.openRequests(),
      input.id,
      String(input.createdAt),
      String(this.options.openTtlSeconds),
      JSON.stringify({ requestId: input.id, bodyHash }),
      String(this.options.idempotencyTtlSeconds),
      ...fields,
    )) as string | null;
    if (existing === '__exists__') return { created: false, existingId: input.id, sameBody: true };
    if (existing) {
      const prior = JSON.parse(existing) as { requestId: string; bodyHash: string };
      return { created: false, existingId: prior.requestId, sameBody: prior.bodyHash === bodyHash };
    }
    return {
      created: true,
      record: {
        ...input,
        status: 'queued',
        startedAt: null,
        completedAt: null,
        attempts: 0,
        response: null,
        error: null,
        usage: null,
        servedBy: null,
        rateLimited: 0,
        unavailableSince: null,
        webhookEndpointId: input.webhookEndpointId ?? null,
        endpoint: input.endpoint ?? '/v1/chat/completions',
        // Batch lines are created by createBatchLines, never here.
        batchId: null,
        customId: null,
        line: null,
      },
    };
  }

  /**
   * Creates the records of a chunk of batch lines in one round trip: a request record's fields plus
   * batch_id, custom_id and line, without idempotency keys. Existing records are kept (safe to repeat after a
   * crash). Returns how many were new.
   */
  async createBatchLines(input: NewBatchLines): Promise<number> {
    if (input.lines.length === 0) return 0;
    const shared = [
      'tenant_id',
      input.tenantId,
      'tier',
      input.tier,
      'status',
      'queued',
      'priority',
      'low',
      'created_at',
      String(input.createdAt),
      'attempts',
      '0',
      'metadata',
      '{}',
      'endpoint',
      input.endpoint,
      'batch_id',
      input.batchId,
    ];
    // A short OPEN_REQUEST_TTL_SECONDS must not drop lines that are still within their batch's window.
    const ttl = Math.max(
      this.options.openTtlSeconds,
      Math.ceil((input.expiresAt - input.createdAt) / 1000) + this.options.resultTtlSeconds,
    );
    const args: string[] = [String(input.createdAt), String(ttl), String(shared.length / 2)];
    args.push(...shared);
    const keys: string[] = [this.keys.openRequests()];
    for (const l of input.lines) {
      keys.push(this.keys.request(l.id));
      args.push(l.id, l.model, l.customId, String(l.line), JSON.stringify(l.body));
    }
    return (await evalScript(this.redis, CREATE_BATCH_LINES, keys.length, ...keys, ...args)) as number;
  }

  async get(id: string): Promise<RequestRecord | null> {
    const h = await this.redis.hgetall(this.keys.request(id));
    if (!h.id) return null;
    return {
      id: h.id,
      tenantId: h.tenant_id ?? '',
      tier: (h.tier ?? 'free') as Tier,
      status: (h.status ?? 'queued') as RequestStatus,
      model: h.model ?? '',
      priority: (h.priority ?? 'normal') as Priority,
      createdAt: Number(h.created_at),
      startedAt: num(h.started_at),
      completedAt: num(h.completed_at),
      attempts: Number(h.attempts ?? 0),
      metadata: parseJson<Record<string, string>>(h.metadata) ?? {},
      body: parseJson<Record<string, unknown>>(h.body),
      response: parseJson<unknown>(h.response),
      error: parseJson<RequestError>(h.error),
      usage: parseJson<Usage>(h.usage),
      servedBy: parseJson<ServedBy>(h.served_by),
      rateLimited: Number(h.rate_limited ?? 0),
      unavailableSince: num(h.unavailable_since),
      webhookEndpointId: h.webhook_endpoint_id ?? null,
      endpoint: h.endpoint ?? '/v1/chat/completions',
      batchId: h.batch_id ?? null,
      customId: h.custom_id ?? null,
      line: h.line === undefined ? null : Number(h.line),
    };
  }

  /**
   * The few fields a sweep needs, without the prompt or the response: sweeps walk every open
   * request (50,000 batch lines, say), so they must not fetch whole records.
   */
  async summary(
    id: string,
  ): Promise<Pick<
    RequestRecord,
    'status' | 'tenantId' | 'tier' | 'priority' | 'attempts' | 'batchId'
  > | null> {
    const [status, tenantId, tier, priority, attempts, batchId] = await this.redis.hmget(
      this.keys.request(id),
      'status',
      'tenant_id',
      'tier',
      'priority',
      'attempts',
      'batch_id',
    );
    if (!status) return null;
    return {
      status: status as RequestStatus,
      tenantId: tenantId ?? '',
      tier: (tier ?? 'free') as Tier,
      priority: (priority ?? 'normal') as Priority,
      attempts: Number(attempts ?? 0),
      batchId: batchId ?? null,
    };
  }

  /** Counts a 429 met by the request; returns the new count. */
  async countRateLimited(id: string): Promise<number> {
    return this.redis.hincrby(this.keys.request(id), 'rate_limited', 1);
  }

  /** Records when the request first found every upstream unavailable; returns that time. */
  async markUnavailable(id: string, now = Date.now()): Promise<number> {
    const key = this.keys.request(id);
    await this.redis.hsetnx(key, 'unavailable_since', String(now));
    return Number((await this.redis.hget(key, 'unavailable_since')) ?? now);
  }

  /** Marks attempt `attempt` as started. */
  async startAttempt(id: string, attempt: number, now = Date.now()): Promise<FinishResult> {
    return (await evalScript(
      this.redis,
      START_ATTEMPT,
      1,
      this.keys.request(id),
      String(now),
      String(attempt),
    )) as FinishResult;
  }

  /** Back to queued while the job waits for its next attempt. */
  async requeue(id: string, lastError: RequestError): Promise<FinishResult> {
    return (await evalScript(
      this.redis,
      REQUEUE,
      1,
      this.keys.request(id),
      JSON.stringify(lastError),
    )) as FinishResult;
  }

  async complete(
    id: string,
    response: unknown,
    usage: Usage | null,
    servedBy: ServedBy | null = null,
    now = Date.now(),
  ): Promise<FinishResult> {
    const fields = ['response', JSON.stringify(response)];
    if (servedBy) fields.push('served_by', JSON.stringify(servedBy));
    if (usage) fields.push('usage', JSON.stringify(usage));
    return this.finish(id, 'completed', '', fields, now, usage);
  }

  async fail(id: string, error: RequestError, now = Date.now()): Promise<FinishResult> {
    return this.finish(id, 'failed', '', ['error', JSON.stringify(error)], now);
  }

  /** Cancels a request only while it is still queued. */
  async cancel(id: string, now = Date.now()): Promise<FinishResult> {
    return this.finish(id, 'cancelled', 'queued', [], now);
  }

  private async finish(
    id: string,
    status: RequestStatus,
    requiredStatus: string,
    fields: string[],
    now: number,
    usage: Usage | null = null,
  ): Promise<FinishResult> {
    // A batch line counts towards its batch in the same atomic step (see FINISH).
    const batchId = await this.redis.hget(this.keys.request(id), 'batch_id');
    return (await evalScript(
      this.redis,
      FINISH,
      6,
      this.keys.request(id),
      this.keys.openRequests(),
      this.keys.completionsBucket(Math.floor(now / 10_000)),
      this.keys.webhookOutbox(),
      batchId ? this.keys.batch(batchId) : '',
      this.keys.durationsBucket(Math.floor(now / 10_000)),
      status,
      String(now),
      String(this.options.resultTtlSeconds),
      this.keys.requestDoneChannel(),
      id,
      requiredStatus,
      String(usage?.prompt_tokens ?? 0),
      String(usage?.completion_tokens ?? 0),
      ...fields,
    )) as FinishResult;
  }

  /**
   * Over the last minute (six whole 10 s buckets), across all workers: completions per second, and
   * the mean time from a request's first start to its completion (null when none completed).
   */
  async recentStats(now = Date.now()): Promise<{ throughput: number; meanDurationMs: number | null }> {
    const current = Math.floor(now / 10_000);
    const buckets = Array.from({ length: 6 }, (_, i) => current - 1 - i);
    const values = await this.redis.mget(
      ...buckets.map((b) => this.keys.completionsBucket(b)),
      ...buckets.map((b) => this.keys.durationsBucket(b)),
    );
    const sum = (from: number) => values.slice(from, from + 6).reduce((t, v) => t + Number(v ?? 0), 0);
    const completed = sum(0);
    return { throughput: completed / 60, meanDurationMs: completed > 0 ? sum(6) / completed : null };
  }

  /** Drops an id from the open index (its record is gone). */
  async forgetOpen(id: string): Promise<void> {
    await this.redis.zrem(this.keys.openRequests(), id);
  }
}

/** The client-facing view of a record. */
export function toRequestView(r: RequestRecord): RequestView {
  const secs = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
  return {
    id: r.id,
    object: 'request',
    status: r.status,
    created_at: Math.floor(r.createdAt / 1000),
    started_at: secs(r.startedAt),
    completed_at: secs(r.completedAt),
    model: r.model,
    priority: r.priority,
    attempts: r.attempts,
    metadata: r.metadata,
    response: r.response,
    error: r.error,
    usage: r.usage,
    served_by: r.servedBy,
  };
}
