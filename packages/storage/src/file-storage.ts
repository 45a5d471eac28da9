import type { Readable } from 'node:stream';

/** Options of one `put`. */
export interface PutOptions {
  /** Largest body accepted, in bytes; a longer body rejects with StorageLimitError. Default: no limit. */
  maxBytes?: number;
  /** MIME type kept with the object where the backend can (S3); ignored by the local backend. */
  contentType?: string;
}

/**
 * Where uploaded and generated files live. Bodies are streamed in and out, never held whole in memory.
 * Keys are relative paths of `[a-zA-Z0-9/_.-]` (see `validateKey`).
 */
export interface FileStorage {
  /**
   * Streams `body` to `key`; resolves with the bytes written. Rejects (and leaves nothing behind) if the
   * stream errors or exceeds `maxBytes`; on rejection `body` is destroyed. A successful put replaces any
   * earlier file under `key` at once; readers never see a partial file.
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<{ bytes: number }>;
  /** A readable stream of the stored bytes; rejects with a StorageNotFoundError if absent. Consume or destroy it. */
  get(key: string): Promise<Readable>;
  /** Size in bytes, or null if absent. */
  stat(key: string): Promise<{ bytes: number } | null>;
  /** Deletes; no error if absent. */
  delete(key: string): Promise<void>;
  /** Releases resources; safe to call twice. */
  close(): Promise<void>;
}
