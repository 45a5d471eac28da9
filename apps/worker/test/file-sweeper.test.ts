import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createLogger, FileStore, redisKeys, storageKeyOf } from '@sluice/core';
import { createFileStorage } from '@sluice/storage';
import { randomPrefix } from '@sluice/testkit';
import { describe, expect, it } from 'vitest';
import { FileSweeper } from '../src/files-sweeper.js';
import { useRedis } from './support.js';

describe('file sweeper: files past expires_after are deleted, bytes and record', () => {
  const db = useRedis();

  it('deletes what expired, keeps what has not, and forgets deleted files', async () => {
    const { redis } = db;
    const keys = redisKeys(randomPrefix('files'));
    const files = new FileStore(redis, keys);
    const storage = createFileStorage({ kind: 'local', directory: mkdtempSync(join(tmpdir(), 'sweep-')) });
    const now = Date.now();
    const make = async (id: string, expiresAt: number | null) => {
      const storageKey = storageKeyOf('ten_a', id);
      const { bytes } = await storage.put(storageKey, Readable.from([`bytes of ${id}\n`]));
      await files.create({
        id,
        tenantId: 'ten_a',
        bytes,
        createdAt: now,
        filename: `${id}.jsonl`,
        purpose: 'batch',
        expiresAt,
        storageKey,
      });
      return storageKey;
    };
    const expired = await make('file-expired', now + 1_000);
    const later = await make('file-later', now + 3_600_000);
    const forever = await make('file-forever', null);
    const sweeper = new FileSweeper({
      redis,
      keys,
      files,
      storage,
      log: createLogger('test', 'silent'),
      intervalMs: 1_000,
    });

    expect(await sweeper.sweep(now)).toBe(0); // nothing due yet
    await redis.del(keys.fileLease());
    expect(await sweeper.sweep(now + 2_000)).toBe(1);
    expect(await storage.stat(expired)).toBeNull();
    expect(await redis.exists(keys.file('file-expired'))).toBe(0);
    expect(await storage.stat(later)).not.toBeNull();
    expect(await storage.stat(forever)).not.toBeNull();
    const listed = await files.list('ten_a', { limit: 10, order: 'desc' });
    expect(listed.data.map((f) => f.id).sort()).toEqual(['file-forever', 'file-later']);
    expect(await redis.zrange(keys.fileExpiries(), '0', '-1')).toEqual(['file-later']);

    // A file deleted by hand before it expires leaves nothing for the sweeper to trip on.
    await files.delete({ id: 'file-later', tenantId: 'ten_a' });
    expect(await redis.zcard(keys.fileExpiries())).toBe(0);
    await storage.close();
  });
});
