import { pipeline, Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ByteCounter, checkMaxBytes } from '../byte-counter.js';
import { StorageNotFoundError } from '../errors.js';
import type { FileStorage, PutOptions } from '../file-storage.js';
import { validateKey } from '../keys.js';
import { joinPrefix, normalizePrefix } from './prefix.js';

/** Options of S3FileStorage. */
export interface S3FileStorageOptions {
  /** Bucket holding the files; it must exist. */
  bucket: string;
  /** Region of the bucket, e.g. `us-east-1`; S3-compatible stores usually accept any. */
  region: string;
  /** Endpoint URL of an S3-compatible store (MinIO, R2, …). Default: AWS S3 for `region`. */
  endpoint?: string;
  /** Address buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key`; most self-hosted stores need it. Default false. */
  forcePathStyle?: boolean;
  /** Static credentials; give both or neither. Default: the AWS SDK's chain (AWS_* variables, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix inside the bucket, e.g. `sluice/files`, so several deployments can share one bucket. Default none. */
  prefix?: string;
  /** Size of each multipart upload part in bytes. Default and minimum 5 MiB (S3's lower bound). */
  partSizeBytes?: number;
  /** Parts of one put uploaded at once. Default 4. A put holds about partSizeBytes × (partConcurrency + 1) in memory. */
  partConcurrency?: number;
  /** A client to use instead of building one from the options above; `close()` then leaves it open. */
  client?: S3Client;
}

const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

/**
 * Files in any S3-compatible object store, so that several API and worker machines see the same files.
 * Puts stream through `@aws-sdk/lib-storage`'s Upload: one PutObject for bodies under a part, a
 * multipart upload otherwise, aborted when the body fails or crosses `maxBytes`.
 */
export class S3FileStorage implements FileStorage {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly partSizeBytes: number;
  private readonly partConcurrency: number;
  private closed = false;

  constructor(options: S3FileStorageOptions) {
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.partSizeBytes = Math.max(MIN_PART_SIZE_BYTES, options.partSizeBytes ?? MIN_PART_SIZE_BYTES);
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new S3Client(clientConfig(options));
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<{ bytes: number }> {
    try {
      return await this.upload(this.objectKey(key), body, checkMaxBytes(opts.maxBytes), opts.contentType);
    } catch (err) {
      // The caller's stream (often an HTTP request) must not stay paused after a refusal.
      body.destroy();
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const Key = this.objectKey(key);
    this.assertOpen();
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!(Body instanceof Readable)) throw new Error('S3 GetObject returned no Node.js stream body');
      return Body;
    } catch (err) {
      throw isNotFound(err) ? new StorageNotFoundError(key) : err;
    }
  }

  async stat(key: string): Promise<{ bytes: number } | null> {
    const Key = this.objectKey(key);
    this.assertOpen();
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { bytes: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    this.assertOpen();
    // S3 answers 204 whether or not the key existed.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  private async upload(
    Key: string,
    body: Readable,
    maxBytes: number,
    contentType: string | undefined,
  ): Promise<{ bytes: number }> {
    this.assertOpen();
    const counter = new ByteCounter(maxBytes);
    // pipeline carries an error or early close of `body` into `counter`, where Upload sees it, and a
    // crossed limit back to `body`. Its own callback has nothing to add: Upload reports the failure.
    pipeline(body, counter, () => {});
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: counter, ContentType: contentType },
      partSize: this.partSizeBytes,
      queueSize: this.partConcurrency,
      leavePartsOnError: false,
    });
    try {
      // On a stream or part failure Upload waits for the parts in flight, aborts the multipart upload
      // (AbortMultipartUpload), then rejects; no object appears under Key.
      await upload.done();
    } catch (err) {
      counter.destroy();
      // The abort that follows a crossed limit may fail too; the limit is the cause the caller can act on.
      if (counter.limitError) throw counter.limitError;
      throw err;
    }
    return { bytes: counter.bytes };
  }

  private objectKey(key: string): string {
    return joinPrefix(this.prefix, validateKey(key));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('S3FileStorage is closed');
  }
}

function clientConfig(options: S3FileStorageOptions): S3ClientConfig {
  const { accessKeyId, secretAccessKey } = options;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error('S3FileStorage: give both accessKeyId and secretAccessKey, or neither');
  }
  return {
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(accessKeyId !== undefined &&
      secretAccessKey !== undefined && { credentials: { accessKeyId, secretAccessKey } }),
  };
}

/** NoSuchKey from GetObject; HeadObject has no body, so its 404 arrives as NotFound. */
function isNotFound(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound');
}
