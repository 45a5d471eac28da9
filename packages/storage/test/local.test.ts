import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFileStorage, StorageNotFoundError } from '../src/index.js';
import { TEMP_FILE_PREFIX } from '../src/local/index.js';
import { fileStorageContract } from './contract.js';
import { MiB, patternStream } from './streams.js';

/** Every file under `directory`, temp files included, relative to it. */
async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)))
    .sort();
}

fileStorageContract('LocalFileStorage', async () => {
  // The storage root sits one level down, so a write that escaped it would show up in `outer`.
  const outer = await mkdtemp(join(tmpdir(), 'sluice-storage-'));
  const directory = join(outer, 'files');
  return {
    storage: new LocalFileStorage({ directory }),
    leftovers: () => filesUnder(outer),
    cleanup: () => rm(outer, { recursive: true, force: true }),
  };
});

describe('LocalFileStorage', () => {
  let outer: string;

  beforeEach(async () => {
    outer = await mkdtemp(join(tmpdir(), 'sluice-storage-'));
  });

  afterEach(async () => {
    await rm(outer, { recursive: true, force: true });
  });

  it('creates a missing directory and stores keys as paths under it', async () => {
    const storage = new LocalFileStorage({ directory: join(outer, 'a', 'b') });
    await storage.put('x/y.jsonl', Readable.from(['hello\n']));
    await expect(readFile(join(outer, 'a', 'b', 'x', 'y.jsonl'), 'utf8')).resolves.toBe('hello\n');
  });

  it('resolves a relative directory against the cwd', () => {
    const storage = new LocalFileStorage({ directory: '.data/files' });
    expect(storage.directory).toBe(join(process.cwd(), '.data/files'));
  });

  it('writes to a temp file beside the target and renames it into place', async () => {
    const storage = new LocalFileStorage({ directory: outer });
    const gate = new Readable({ read() {} });
    const put = storage.put('d/f.jsonl', gate);
    gate.push(Buffer.alloc(MiB, 'a'));
    // Mid-write the bytes sit in a temp file only; the key is still absent.
    await waitFor(async () => (await filesUnder(outer)).length === 1);
    const [temp] = await filesUnder(outer);
    expect(temp).toMatch(new RegExp(`^d/${TEMP_FILE_PREFIX.replace('.', '\\.')}f\\.jsonl\\.[0-9a-f]{12}$`));
    await expect(storage.stat('d/f.jsonl')).resolves.toBeNull();
    gate.push(null);
    await expect(put).resolves.toEqual({ bytes: MiB });
    expect(await filesUnder(outer)).toEqual(['d/f.jsonl']);
  });

  it('never serves a temp file left by a crash', async () => {
    const storage = new LocalFileStorage({ directory: outer });
    await writeFile(join(outer, `${TEMP_FILE_PREFIX}f.jsonl.0123456789ab`), 'half');
    await expect(storage.get(`${TEMP_FILE_PREFIX}f.jsonl.0123456789ab`)).rejects.toThrow(
      /Invalid storage key/,
    );
    await expect(storage.stat('f.jsonl')).resolves.toBeNull();
  });

  it('treats a directory as no file', async () => {
    const storage = new LocalFileStorage({ directory: outer });
    await mkdir(join(outer, 'dir'));
    await expect(storage.stat('dir')).resolves.toBeNull();
    await expect(storage.get('dir')).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.delete('dir')).resolves.toBeUndefined();
  });

  it('leaves no temp file after failures while the temp file may still be opening', async () => {
    const storage = new LocalFileStorage({ directory: outer });
    for (let i = 0; i < 50; i++) {
      await expect(storage.put(`l${i}`, patternStream(100_000), { maxBytes: 10 })).rejects.toThrow();
      await expect(storage.put(`e${i}`, patternStream(100_000, { failAfterBytes: 0 }))).rejects.toThrow();
    }
    expect(await filesUnder(outer)).toEqual([]);
  });

  it('removes the temp file when the body is over maxBytes', async () => {
    const storage = new LocalFileStorage({ directory: outer });
    await expect(storage.put('big.jsonl', patternStream(3 * MiB), { maxBytes: 2 * MiB })).rejects.toThrow(
      /limit of 2097152 bytes/,
    );
    expect(await filesUnder(outer)).toEqual([]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
