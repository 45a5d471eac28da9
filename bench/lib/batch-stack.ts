/**
 * The processes of `pnpm bench:batch`: the upstream simulator, a fresh redis-server, the API and one
 * worker, started by bench/lib/stack.ts (the code every benchmark uses) with a file store shared by the API
 * and the worker (FILE_STORAGE_DIR). On top of that Stack this one keeps a Redis client (to read a batch's
 * `enqueued` progress) and the pids that serve the API's and the worker's ports (for RSS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { resolveServingPid } from './batch-proc.js';
import { API_ENV, type Limits, WORKER_ENV } from './config.js';
import { type SluiceStack, startStack } from './stack.js';

/**
 * Settings on top of bench/lib/config.ts's API_ENV / WORKER_ENV. The batch knobs are set empty, which
 * the apps read as unset: whatever the shell exports, the run uses their defaults (batch sweep every
 * 1000 ms, promotion 6 h / 2 h before the 24 h window ends).
 */
export const BATCH_API_ENV: Record<string, string> = { ...API_ENV, FILE_STORAGE: 'local' };
export const BATCH_WORKER_ENV: Record<string, string> = {
  ...WORKER_ENV,
  FILE_STORAGE: 'local',
  BATCH_SWEEP_INTERVAL_MS: '',
  BATCH_PROMOTE_BEFORE_MS: '',
  BATCH_URGENT_BEFORE_MS: '',
};

/** A process whose memory is sampled: the pid that serves the port, and how it was found. */
export interface Measured {
  pid: number;
  /** How the pid was confirmed, e.g. "pid 123 (node --import tsx apps/api/src/main.ts), listens on :4567". */
  how: string;
}

export interface BatchStack extends SluiceStack {
  /** A client of the benchmark's own Redis (for the batch hash and INFO). */
  redis: Redis;
  /** The directory API and worker share for files (FILE_STORAGE_DIR). */
  storageDir: string;
  api: Measured;
  worker: Measured;
  redisPid?: number;
}

/** Starts the simulator with `limits`, Redis, the API and one worker. Stops what it started on error. */
export async function startBatchStack(limits: Limits): Promise<BatchStack> {
  const storageDir = mkdtempSync(join(tmpdir(), 'sluice-bench-batch-files-'));
  let stack: SluiceStack | undefined;
  let client: Redis | undefined;
  const stop = async () => {
    // The client first, so that it does not try to reconnect to the Redis the stack stops.
    client?.disconnect();
    await stack?.stop();
    rmSync(storageDir, { recursive: true, force: true });
  };
  try {
    stack = await startStack(limits, {
      workers: 1,
      apiEnv: BATCH_API_ENV,
      workerEnv: BATCH_WORKER_ENV,
      env: { FILE_STORAGE_DIR: storageDir },
      prefix: 'bench-batch',
    });
    client = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3 });
    const redisPid = await stack.readRedisPid();
    const api = stack.process('api');
    const worker = stack.process('worker');
    return {
      ...stack,
      redis: client,
      storageDir,
      api: resolveServingPid(api.pid, api.port),
      worker: resolveServingPid(worker.pid, worker.port),
      ...(redisPid !== undefined && { redisPid }),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
