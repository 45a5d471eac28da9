import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteCounter, checkMaxBytes } from '../byte-counter.js';
import { StorageNotFoundError } from '../errors.js';
import type { FileStorage, PutOptions } from '../file-storage.js';
import { validateKey } from '../keys.js';

/** Options of LocalFileStorage. */
export interface LocalFileStorageOptions {
  /** Root directory of the stored files, created on first write if missing; relative paths resolve against the process cwd. */
  directory: string;
}

/**
 * Prefix of in-progress writes. `~` is outside the key alphabet, so no key can name a temp file, and
 * files starting with `.~` left by a crash are safe to delete.
 */
export const TEMP_FILE_PREFIX = '.~';

/** Error codes meaning "nothing is stored under this path". */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Files in a directory on this machine: one process, or several sharing one disk. Each put streams into
 * a temp file beside its target, fsyncs it and renames it into place, so readers and crashes only ever
 * see whole files under a key.
 */
export class LocalFileStorage implements FileStorage {
  /** Absolute root directory. */
  readonly directory: string;
  private closed = false;

  constructor(options: LocalFileStorageOptions) {
    this.directory = resolve(options.directory);
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<{ bytes: number }> {
    try {
      return await this.write(this.pathOf(key), body, checkMaxBytes(opts.maxBytes));
    } catch (err) {
      // The caller's stream (often an HTTP request) must not stay paused after a refusal.
      body.destroy();
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    this.assertOpen();
    // Opening first turns a missing file into StorageNotFoundError here rather than a stream error later,
    // and the open descriptor keeps the bytes readable even if the key is deleted or replaced meanwhile.
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw isAbsent(err) ? new StorageNotFoundError(key) : err;
    });
    try {
      if (!(await handle.stat()).isFile()) throw new StorageNotFoundError(key);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle.createReadStream();
  }

  async stat(key: string): Promise<{ bytes: number } | null> {
    const path = this.pathOf(key);
    this.assertOpen();
    try {
      const info = await stat(path);
      return info.isFile() ? { bytes: info.size } : null;
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    this.assertOpen();
    try {
      await unlink(path);
    } catch (err) {
      if (!isAbsent(err)) throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async write(target: string, body: Readable, maxBytes: number): Promise<{ bytes: number }> {
    this.assertOpen();
    await mkdir(dirname(target), { recursive: true });
    const temp = join(
      dirname(target),
      `${TEMP_FILE_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}`,
    );
    const counter = new ByteCounter(maxBytes);
    // `flush` fsyncs before close: otherwise a power cut after the rename could leave the key pointing
    // at a short file. `wx` refuses to reuse a name, however unlikely.
    const file = createWriteStream(temp, { flags: 'wx', flush: true });
    try {
      await pipeline(body, counter, file);
      await rename(temp, target);
    } catch (err) {
      // pipeline settles only after `file` has closed, so no late open can recreate it after the rm.
      await rm(temp, { force: true });
      throw err;
    }
    return { bytes: counter.bytes };
  }

  /** The absolute path of `key`; validation keeps it inside `directory`. */
  private pathOf(key: string): string {
    return join(this.directory, validateKey(key));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('LocalFileStorage is closed');
  }
}

function isAbsent(err: unknown): boolean {
  return err instanceof Error && ABSENT.has((err as NodeJS.ErrnoException).code ?? '');
}
