import type { Redis } from 'ioredis';
import { newId } from '../ids/index.js';
import type { RedisKeys } from '../keys/index.js';
import { evalScript } from '../redis/index.js';
import {
  BATCH_WINDOW_MS,
  type BatchEndpoint,
  type BatchError,
  type BatchObject,
  type BatchStatus,
} from './contract.js';

export interface BatchRecord {
  id: string;
  tenantId: string;
  endpoint: BatchEndpoint;
  inputFileId: string;
  status: BatchStatus;
  model: string | null;
  errors: BatchError[] | null;
  outputFileId: string | null;
  errorFileId: string | null;
  metadata: Record<string, string> | null;
  /** Timestamps in ms. */
  createdAt: number;
  expiresAt: number;
  times: Partial<
    Record<
      'in_progress' | 'finalizing' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled',
      number
    >
  >;
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Lines whose request and job exist (enqueueing resumes from here after a crash). */
  enqueued: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Moves a batch from one of the allowed statuses to `to`, stamping `<to>_at`, atomically.
 * KEYS[1] batch hash, KEYS[2] active-batches set, KEYS[3] webhook outbox zset; ARGV[1] to, ARGV[2]
 * now ms, ARGV[3] allowed statuses (comma-separated), ARGV[4] 1 if `to` is terminal, ARGV[5..] extra
 * field/value pairs. A terminal move also puts the batch in the webhook outbox, in the same step, so
 * its event (batch.completed, …) survives a crash between this and queueing the dispatch.
 * Returns the status before, or nil if the move was not allowed.
 */
const TRANSITION = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return nil end
local allowed = false
for s in string.gmatch(ARGV[3], '[^,]+') do if s == current then allowed = true end end
if not allowed then return nil end
local fields = {'status', ARGV[1], ARGV[1] .. '_at', ARGV[2]}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[4] == '1' then
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('SREM', KEYS[2], id)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), id)
end
return current
`;

const TIME_FIELDS = [
  'in_progress',
  'finalizing',
  'completed',
  'failed',
  'expired',
  'cancelling',
  'cancelled',
] as const;
const n = (v: string | undefined) => (v ? Number(v) : 0);

/** Batches in Redis: one hash per batch, a per-tenant index, and the set of active batches. */
export class BatchStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(
    input: {
      tenantId: string;
      endpoint: BatchEndpoint;
      inputFileId: string;
      metadata: Record<string, string> | null;
      /** The completion window; OpenAI's (and the default) is 24 h. */
      windowMs?: number;
    },
    now = Date.now(),
  ): Promise<BatchRecord> {
    const id = newId('batch', now);
    const record: BatchRecord = {
      id,
      tenantId: input.tenantId,
      endpoint: input.endpoint,
      inputFileId: input.inputFileId,
      status: 'validating',
      model: null,
      errors: null,
      outputFileId: null,
      errorFileId: null,
      metadata: input.metadata,
      createdAt: now,
      expiresAt: now + (input.windowMs ?? BATCH_WINDOW_MS),
      times: {},
      total: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      enqueued: 0,
      inputTokens: 0,
      outputTokens: 0,
    };
    await this.redis
      .multi()
      .hset(this.keys.batch(id), {
        id,
        tenant_id: input.tenantId,
        endpoint: input.endpoint,
        input_file_id: input.inputFileId,
        status: 'validating',
        metadata: input.metadata ? JSON.stringify(input.metadata) : '',
        created_at: String(now),
        expires_at: String(record.expiresAt),
      })
      .zadd(this.keys.tenantBatches(input.tenantId), now, id)
      .sadd(this.keys.activeBatches(), id)
      .exec();
    return record;
  }

  async get(id: string): Promise<BatchRecord | null> {
    const h = await this.redis.hgetall(this.keys.batch(id));
    if (!h.id) return null;
    const times: BatchRecord['times'] = {};
    for (const t of TIME_FIELDS) if (h[`${t}_at`]) times[t] = Number(h[`${t}_at`]);
    return {
      id: h.id,
      tenantId: h.tenant_id ?? '',
      endpoint: (h.endpoint ?? '/v1/chat/completions') as BatchEndpoint,
      inputFileId: h.input_file_id ?? '',
      status: (h.status ?? 'validating') as BatchStatus,
      model: h.model || null,
      errors: h.errors ? (JSON.parse(h.errors) as BatchError[]) : null,
      outputFileId: h.output_file_id || null,
      errorFileId: h.error_file_id || null,
      metadata: h.metadata ? (JSON.parse(h.metadata) as Record<string, string>) : null,
      createdAt: Number(h.created_at),
      expiresAt: Number(h.expires_at),
      times,
      total: n(h.total),
      completed: n(h.completed),
      failed: n(h.failed),
      cancelled: n(h.cancelled),
      enqueued: n(h.enqueued),
      inputTokens: n(h.input_tokens),
      outputTokens: n(h.output_tokens),
    };
  }

  /** Moves the batch to `to` if it is in one of `from`; returns false if it was not. */
  async transition(
    id: string,
    from: readonly BatchStatus[],
    to: BatchStatus,
    fields: Record<string, string> = {},
    now = Date.now(),
  ): Promise<boolean> {
    const terminal = ['failed', 'completed', 'expired', 'cancelled'].includes(to);
    const result = await evalScript(
      this.redis,
      TRANSITION,
      3,
      this.keys.batch(id),
      this.keys.activeBatches(),
      this.keys.webhookOutbox(),
      to,
      String(now),
      from.join(','),
      terminal ? '1' : '0',
      ...Object.entries(fields).flat(),
    );
    return result !== null;
  }

  /** What enqueueing needs before each chunk: the status, and the priority a promotion set (if any). */
  async enqueueState(id: string): Promise<{ status: BatchStatus | null; promotedPriority: number | null }> {
    const [status, promoted] = await this.redis.hmget(this.keys.batch(id), 'status', 'promoted_priority');
    return {
      status: (status ?? null) as BatchStatus | null,
      promotedPriority: promoted ? Number(promoted) : null,
    };
  }

  async setFields(id: string, fields: Record<string, string>): Promise<void> {
    await this.redis.hset(this.keys.batch(id), fields);
  }

  async active(): Promise<string[]> {
    return this.redis.smembers(this.keys.activeBatches());
  }

  /** A page of the tenant's batches, newest first, after the batch id `after`. */
  async list(
    tenantId: string,
    limit: number,
    after?: string,
  ): Promise<{ data: BatchRecord[]; hasMore: boolean }> {
    const key = this.keys.tenantBatches(tenantId);
    let start = 0;
    if (after) {
      const rank = await this.redis.zrevrank(key, after);
      if (rank === null) return { data: [], hasMore: false };
      start = rank + 1;
    }
    const ids = await this.redis.zrevrange(key, start, start + limit);
    const all = await Promise.all(ids.slice(0, limit).map((id) => this.get(id)));
    return { data: all.filter((b): b is BatchRecord => b !== null), hasMore: ids.length > limit };
  }
}

const secs = (ms: number | undefined | null) => (ms ? Math.floor(ms / 1000) : null);

/** OpenAI's Batch object for a record. */
export function toBatchObject(b: BatchRecord): BatchObject {
  return {
    id: b.id,
    object: 'batch',
    endpoint: b.endpoint,
    model: b.model,
    errors: b.errors ? { object: 'list', data: b.errors } : null,
    input_file_id: b.inputFileId,
    completion_window: '24h',
    status: b.status,
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: Math.floor(b.createdAt / 1000),
    in_progress_at: secs(b.times.in_progress),
    expires_at: Math.floor(b.expiresAt / 1000),
    finalizing_at: secs(b.times.finalizing),
    completed_at: secs(b.times.completed),
    failed_at: secs(b.times.failed),
    expired_at: secs(b.times.expired),
    cancelling_at: secs(b.times.cancelling),
    cancelled_at: secs(b.times.cancelled),
    request_counts: { total: b.total, completed: b.completed, failed: b.failed },
    usage: {
      input_tokens: b.inputTokens,
      output_tokens: b.outputTokens,
      total_tokens: b.inputTokens + b.outputTokens,
    },
    metadata: b.metadata,
  };
}
