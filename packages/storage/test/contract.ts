import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileStorage, StorageKeyError, StorageLimitError, StorageNotFoundError } from '../src/index.js';
import { digest, expectedDigest, MiB, patternStream } from './streams.js';

/** One backend under test, fresh for each test. */
export interface StorageFixture {
  storage: FileStorage;
  /** Everything the backend holds, finished or not (temp files, pending multipart uploads). */
  leftovers(): Promise<string[]>;
  /** Removes what the test stored. */
  cleanup(): Promise<void>;
}

/**
 * The behaviour every FileStorage must show. Bodies of 7 and 12 MiB cross the 5 MiB part size, so
 * on S3 the multipart path (and its abort) runs, not only a single PutObject.
 */
export function fileStorageContract(name: string, createFixture: () => Promise<StorageFixture>): void {
  describe(`FileStorage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: FileStorage;

    beforeEach(async () => {
      fixture = await createFixture();
      storage = fixture.storage;
    });

    afterEach(async () => {
      await storage.close();
      await fixture.cleanup();
    });

    it('round-trips a 12 MiB stream generated on the fly', async () => {
      const size = 12 * MiB;
      await expect(storage.put('files/big.jsonl', patternStream(size))).resolves.toEqual({ bytes: size });
      await expect(storage.stat('files/big.jsonl')).resolves.toEqual({ bytes: size });
      expect(await digest(await storage.get('files/big.jsonl'))).toEqual(await expectedDigest(size));
      expect(await fixture.leftovers()).toEqual([expect.stringContaining('files/big.jsonl')]);
    });

    it('round-trips a small body and an empty one', async () => {
      await storage.put('small.jsonl', Readable.from([Buffer.from('{"a":1}\n'), '{"b":2}\n']), {
        contentType: 'application/jsonl',
      });
      await storage.put('empty.jsonl', Readable.from([]));
      expect((await streamText(await storage.get('small.jsonl'))).split('\n')).toEqual([
        '{"a":1}',
        '{"b":2}',
        '',
      ]);
      await expect(storage.stat('small.jsonl')).resolves.toEqual({ bytes: 16 });
      await expect(streamText(await storage.get('empty.jsonl'))).resolves.toBe('');
      await expect(storage.stat('empty.jsonl')).resolves.toEqual({ bytes: 0 });
    });

    it('replaces a file on a second put to the same key', async () => {
      await storage.put('k.jsonl', patternStream(3 * MiB, { seed: 1 }));
      await storage.put('k.jsonl', patternStream(MiB, { seed: 2 }));
      expect(await digest(await storage.get('k.jsonl'))).toEqual(await expectedDigest(MiB, 2));
      expect(await fixture.leftovers()).toHaveLength(1);
    });

    it('reports a missing key: stat null, get StorageNotFoundError, delete no error', async () => {
      await expect(storage.stat('missing.jsonl')).resolves.toBeNull();
      await expect(storage.get('missing.jsonl')).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(storage.get('no/such/dir.jsonl')).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(storage.delete('missing.jsonl')).resolves.toBeUndefined();
    });

    it('deletes a file', async () => {
      await storage.put('gone.jsonl', patternStream(1000));
      await storage.delete('gone.jsonl');
      await expect(storage.stat('gone.jsonl')).resolves.toBeNull();
      await expect(storage.get('gone.jsonl')).rejects.toBeInstanceOf(StorageNotFoundError);
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('accepts a body of exactly maxBytes', async () => {
      await expect(storage.put('exact.jsonl', patternStream(4096), { maxBytes: 4096 })).resolves.toEqual({
        bytes: 4096,
      });
    });

    it('refuses a body over a small maxBytes and stores nothing', async () => {
      const body = patternStream(MiB);
      const put = storage.put('limit.jsonl', body, { maxBytes: 1000 });
      await expect(put).rejects.toBeInstanceOf(StorageLimitError);
      await expect(put).rejects.toMatchObject({ maxBytes: 1000 });
      expect(body.destroyed).toBe(true);
      await expect(storage.stat('limit.jsonl')).resolves.toBeNull();
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('refuses a body over a maxBytes larger than one part and stores nothing', async () => {
      const put = storage.put('limit-big.jsonl', patternStream(12 * MiB), { maxBytes: 7 * MiB });
      await expect(put).rejects.toBeInstanceOf(StorageLimitError);
      await expect(storage.stat('limit-big.jsonl')).resolves.toBeNull();
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('rejects a stream that errors midway and stores nothing', async () => {
      const put = storage.put('broken.jsonl', patternStream(12 * MiB, { failAfterBytes: 7 * MiB }));
      await expect(put).rejects.toThrow('upstream connection reset');
      await expect(storage.stat('broken.jsonl')).resolves.toBeNull();
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('rejects a stream closed early without an error and stores nothing', async () => {
      const put = storage.put('closed.jsonl', patternStream(12 * MiB, { closeAfterBytes: 6 * MiB }));
      await expect(put).rejects.toThrow(/premature close/i);
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('keeps the previous file when a replacing put fails', async () => {
      await storage.put('kept.jsonl', patternStream(2 * MiB, { seed: 3 }));
      await expect(
        storage.put('kept.jsonl', patternStream(12 * MiB, { failAfterBytes: 6 * MiB })),
      ).rejects.toThrow();
      await expect(storage.put('kept.jsonl', patternStream(MiB), { maxBytes: 10 })).rejects.toBeInstanceOf(
        StorageLimitError,
      );
      expect(await digest(await storage.get('kept.jsonl'))).toEqual(await expectedDigest(2 * MiB, 3));
      expect(await fixture.leftovers()).toHaveLength(1);
    });

    it('refuses keys that could escape the storage root, before any I/O', async () => {
      const bad = [
        '../etc/passwd',
        'a/../../b',
        '..',
        '/etc/passwd',
        'a//b',
        'a/./b',
        'a/',
        'a\\b',
        'a b',
        '%2e%2e/x',
        'é',
        '',
        'x'.repeat(513),
      ];
      for (const key of bad) {
        const body = patternStream(10);
        await expect(storage.put(key, body), key).rejects.toBeInstanceOf(StorageKeyError);
        expect(body.destroyed, key).toBe(true);
        await expect(storage.get(key), key).rejects.toBeInstanceOf(StorageKeyError);
        await expect(storage.stat(key), key).rejects.toBeInstanceOf(StorageKeyError);
        await expect(storage.delete(key), key).rejects.toBeInstanceOf(StorageKeyError);
      }
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('accepts nested keys of the allowed alphabet', async () => {
      const key = 'batches/batch_01J9Z/output-file_01J9Z.v1.jsonl';
      await storage.put(key, patternStream(10_000));
      await expect(storage.stat(key)).resolves.toEqual({ bytes: 10_000 });
    });

    it('runs concurrent puts to different keys', async () => {
      const sizes = [6 * MiB, 1, 2 * MiB, 5 * MiB + 1, 300_000, 7 * MiB, 0, 3 * MiB];
      const results = await Promise.all(
        sizes.map((size, i) => storage.put(`c/${i}.jsonl`, patternStream(size, { seed: i }))),
      );
      expect(results).toEqual(sizes.map((bytes) => ({ bytes })));
      for (const [i, size] of sizes.entries()) {
        expect(await digest(await storage.get(`c/${i}.jsonl`))).toEqual(await expectedDigest(size, i));
      }
      expect(await fixture.leftovers()).toHaveLength(sizes.length);
    });

    it('closes twice without error and refuses work afterwards', async () => {
      await storage.close();
      await storage.close();
      await expect(storage.stat('a.jsonl')).rejects.toThrow(/closed/);
      await expect(storage.put('a.jsonl', patternStream(10))).rejects.toThrow(/closed/);
    });
  });
}

async function streamText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
