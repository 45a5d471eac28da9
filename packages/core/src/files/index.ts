import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys/index.js';

/** Purposes a file can be uploaded with; results Sluice writes are `batch_output`. */
export const FILE_PURPOSES = ['batch', 'batch_output'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/** OpenAI's File object. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  expires_at: number | null;
  status_details: null;
}

export interface FileRecord {
  id: string;
  tenantId: string;
  bytes: number;
  createdAt: number;
  filename: string;
  purpose: FilePurpose;
  /** Unix ms, or null for no expiry. */
  expiresAt: number | null;
  storageKey: string;
}

/** How long an expired file's record outlives its expiry if no sweeper removed it. */
const EXPIRED_RECORD_GRACE_MS = 7 * 86_400_000;

/** Where a tenant's file bytes are stored: tenant-scoped so one tenant can never name another's. */
export const storageKeyOf = (tenantId: string, fileId: string) => `files/${tenantId}/${fileId}`;

/** File metadata in Redis; the bytes are in a FileStorage (local disk or S3). */
export class FileStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(f: FileRecord): Promise<void> {
    const key = this.keys.file(f.id);
    const multi = this.redis
      .multi()
      .hset(key, {
        id: f.id,
        tenant_id: f.tenantId,
        bytes: String(f.bytes),
        created_at: String(f.createdAt),
        filename: f.filename,
        purpose: f.purpose,
        expires_at: f.expiresAt === null ? '' : String(f.expiresAt),
        storage_key: f.storageKey,
      })
      .zadd(this.keys.tenantFiles(f.tenantId), f.createdAt, f.id);
    if (f.expiresAt !== null) {
      // The worker's file sweeper deletes the bytes and the record when the file expires; the
      // record's own TTL is only a backstop for Redis memory should no worker run for a week.
      multi.zadd(this.keys.fileExpiries(), f.expiresAt, f.id);
      multi.pexpireat(key, f.expiresAt + EXPIRED_RECORD_GRACE_MS);
    }
    await multi.exec();
  }

  /** Files whose expiry has passed, oldest first (their records are still readable here). */
  async expired(now: number, limit: number): Promise<{ id: string; tenantId: string; storageKey: string }[]> {
    const ids = await this.redis.zrangebyscore(this.keys.fileExpiries(), 0, now, 'LIMIT', 0, limit);
    const out: { id: string; tenantId: string; storageKey: string }[] = [];
    for (const id of ids) {
      const [tenantId, storageKey] = await this.redis.hmget(this.keys.file(id), 'tenant_id', 'storage_key');
      if (!tenantId || !storageKey) {
        await this.redis.zrem(this.keys.fileExpiries(), id); // record already gone
        continue;
      }
      out.push({ id, tenantId, storageKey });
    }
    return out;
  }

  async get(id: string, now = Date.now()): Promise<FileRecord | null> {
    const h = await this.redis.hgetall(this.keys.file(id));
    if (!h.id) return null;
    const expiresAt = h.expires_at ? Number(h.expires_at) : null;
    if (expiresAt !== null && expiresAt <= now) return null;
    return {
      id: h.id,
      tenantId: h.tenant_id ?? '',
      bytes: Number(h.bytes),
      createdAt: Number(h.created_at),
      filename: h.filename ?? '',
      purpose: (h.purpose ?? 'batch') as FilePurpose,
      expiresAt,
      storageKey: h.storage_key ?? '',
    };
  }

  /**
   * A page of the tenant's files, newest first (or oldest first), after the file id `after`.
   * Returns one more than `limit` when there are more, so callers can set `has_more`.
   */
  async list(
    tenantId: string,
    opts: { limit: number; after?: string | undefined; order: 'asc' | 'desc'; purpose?: string | undefined },
  ): Promise<{ data: FileRecord[]; hasMore: boolean }> {
    const key = this.keys.tenantFiles(tenantId);
    let start = 0;
    if (opts.after) {
      const rank =
        opts.order === 'desc'
          ? await this.redis.zrevrank(key, opts.after)
          : await this.redis.zrank(key, opts.after);
      if (rank === null) return { data: [], hasMore: false };
      start = rank + 1;
    }
    const out: FileRecord[] = [];
    // Read in pages: expired or filtered-out files are skipped without shortening the page.
    for (let offset = start; out.length <= opts.limit; offset += 200) {
      const ids =
        opts.order === 'desc'
          ? await this.redis.zrevrange(key, offset, offset + 199)
          : await this.redis.zrange(key, String(offset), String(offset + 199));
      if (ids.length === 0) break;
      for (const id of ids) {
        const f = await this.get(id);
        if (!f) {
          await this.redis.zrem(key, id);
          continue;
        }
        if (opts.purpose && f.purpose !== opts.purpose) continue;
        out.push(f);
        if (out.length > opts.limit) break;
      }
    }
    return { data: out.slice(0, opts.limit), hasMore: out.length > opts.limit };
  }

  async delete(f: Pick<FileRecord, 'id' | 'tenantId'>): Promise<void> {
    await this.redis
      .multi()
      .del(this.keys.file(f.id))
      .zrem(this.keys.tenantFiles(f.tenantId), f.id)
      .zrem(this.keys.fileExpiries(), f.id)
      .exec();
  }
}

export function toFileObject(f: FileRecord): FileObject {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: Math.floor(f.createdAt / 1000),
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed',
    expires_at: f.expiresAt === null ? null : Math.floor(f.expiresAt / 1000),
    status_details: null,
  };
}
