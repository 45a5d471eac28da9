import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3FileStorage, StorageLimitError, StorageNotFoundError } from '../src/index.js';
import { fileStorageContract } from './contract.js';
import { startTestS3Server, TEST_CREDENTIALS, type TestS3Server } from './s3-server.js';
import { digest, expectedDigest, MiB, patternStream } from './streams.js';

let server: TestS3Server;
let admin: S3Client;

beforeAll(async () => {
  server = await startTestS3Server();
  admin = server.client();
});

afterAll(async () => {
  admin?.destroy();
  await server?.stop();
});

const randomName = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;

function storageFor(bucket: string, prefix?: string): S3FileStorage {
  return new S3FileStorage({
    bucket,
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    ...TEST_CREDENTIALS,
    ...(prefix !== undefined && { prefix }),
  });
}

/**
 * Every object in `bucket`, plus a marker if a multipart upload is still open. S3 lists open uploads
 * with ListMultipartUploads, which fauxqs lacks; it does refuse to delete a bucket that has one
 * (BucketNotEmpty), so an empty bucket is deleted and created again to prove there is none.
 */
async function bucketContents(bucket: string): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
  if (keys.length > 0) return keys;
  try {
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (err instanceof S3ServiceException && err.name === 'BucketNotEmpty')
      return ['(open multipart upload)'];
    throw err;
  }
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return [];
}

async function dropBucket(bucket: string): Promise<void> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  const objects = (listed.Contents ?? []).map((object) => ({ Key: object.Key }));
  if (objects.length > 0) {
    await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
}

fileStorageContract('S3FileStorage (fauxqs on 127.0.0.1)', async () => {
  const bucket = randomName('contract');
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    storage: storageFor(bucket, randomName('prefix')),
    leftovers: () => bucketContents(bucket),
    cleanup: () => dropBucket(bucket),
  };
});

describe('S3FileStorage', () => {
  let bucket: string;

  beforeEach(async () => {
    bucket = randomName('s3');
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  afterEach(async () => {
    await dropBucket(bucket);
  });

  it('sees an open multipart upload in the leftovers check', async () => {
    await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'pending' }));
    expect(await bucketContents(bucket)).toEqual(['(open multipart upload)']);
  });

  it('aborts the multipart upload of a body that fails after its first part', async () => {
    const storage = storageFor(bucket);
    const before = server.requests.length;
    await expect(
      storage.put('f.jsonl', patternStream(20 * MiB, { failAfterBytes: 11 * MiB })),
    ).rejects.toThrow('upstream connection reset');
    const seen = server.requests.slice(before);
    expect(seen).toContainEqual({ method: 'POST', multipart: '?uploads', status: 200 });
    expect(seen).toContainEqual({ method: 'PUT', multipart: '?uploadId', status: 200 });
    expect(seen).toContainEqual({ method: 'DELETE', multipart: '?uploadId', status: 204 });
    expect(seen).not.toContainEqual(expect.objectContaining({ method: 'POST', multipart: '?uploadId' }));
    expect(await bucketContents(bucket)).toEqual([]);
    await storage.close();
  });

  it('aborts the multipart upload of a body over maxBytes', async () => {
    const storage = storageFor(bucket);
    const before = server.requests.length;
    await expect(
      storage.put('f.jsonl', patternStream(20 * MiB), { maxBytes: 11 * MiB }),
    ).rejects.toBeInstanceOf(StorageLimitError);
    expect(server.requests.slice(before)).toContainEqual({
      method: 'DELETE',
      multipart: '?uploadId',
      status: 204,
    });
    expect(await bucketContents(bucket)).toEqual([]);
    await storage.close();
  });

  it('stores keys under the prefix and keeps the content type', async () => {
    const storage = storageFor(bucket, '/tenant-a/files/');
    await storage.put('file_1.jsonl', patternStream(100), { contentType: 'application/jsonl' });
    expect(await bucketContents(bucket)).toEqual(['tenant-a/files/file_1.jsonl']);
    const head = await admin.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'tenant-a/files/file_1.jsonl' }),
    );
    expect(head.ContentType).toBe('application/jsonl');
    await expect(storageFor(bucket).get('file_1.jsonl')).rejects.toBeInstanceOf(StorageNotFoundError);
    await storage.close();
  });

  it('uses an injected client and leaves it open on close', async () => {
    const client = server.client();
    const storage = new S3FileStorage({ bucket, region: 'us-east-1', client });
    await storage.put('a.jsonl', patternStream(6 * MiB));
    await storage.close();
    const again = new S3FileStorage({ bucket, region: 'us-east-1', client });
    expect(await digest(await again.get('a.jsonl'))).toEqual(await expectedDigest(6 * MiB));
    client.destroy();
  });

  it('surfaces a missing bucket as an S3 error, not as a missing file', async () => {
    const storage = storageFor(randomName('nobucket'));
    await expect(storage.get('a.jsonl')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await storage.close();
  });

  it('refuses half of a credential pair', () => {
    expect(() => new S3FileStorage({ bucket, region: 'us-east-1', accessKeyId: 'only-the-id' })).toThrow(
      /both accessKeyId and secretAccessKey/,
    );
  });
});
