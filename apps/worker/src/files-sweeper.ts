import type { FileStore, Logger, RedisKeys } from '@sluice/core';
import type { FileStorage } from '@sluice/storage';
import type { Redis } from 'ioredis';
import { PeriodicSweep, takeLease } from './periodic.js';

const PAGE = 200;

/**
 * Deletes files whose `expires_after` has passed: the stored bytes first, then the record, so a
 * crash in between leaves the file listed for the next pass rather than bytes nobody can find.
 * One replica at a time (a lease); the API already answers 404 for an expired file.
 */
export class FileSweeper extends PeriodicSweep {
  constructor(
    private readonly deps: {
      redis: Redis;
      keys: RedisKeys;
      files: FileStore;
      storage: FileStorage;
      log: Logger;
      intervalMs: number;
    },
  ) {
    super('file sweep', deps);
  }

  /** One pass; returns how many files it deleted. */
  async sweep(now = Date.now()): Promise<number> {
    const { redis, keys, files, storage, log } = this.deps;
    if (!(await takeLease(redis, keys.fileLease(), this.deps.intervalMs))) return 0;
    let deleted = 0;
    for (const f of await files.expired(now, PAGE)) {
      await storage.delete(f.storageKey);
      await files.delete(f);
      deleted++;
    }
    if (deleted > 0) log.info({ deleted }, 'expired files deleted');
    return deleted;
  }
}
