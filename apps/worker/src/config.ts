import { envInt, loadConfig, sharedEnv } from '@sluice/core';
import { z } from 'zod';

/** The worker's environment. Every variable is documented in the README's configuration table. */
export const workerEnvSchema = z.object({
  ...sharedEnv,
  /** Port of the worker's /healthz, /readyz and /metrics. Default 8081. */
  PORT: envInt(8081, 0, 65_535),
  /** Key for the upstream. Unset only makes sense against the simulator. */
  OPENAI_API_KEY: z.string().min(1).default('sk-unset'),
  OPENAI_BASE_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .default('https://api.openai.com/v1'),
  /** Timeout of one upstream call, ms. Default 60000. */
  UPSTREAM_TIMEOUT_MS: envInt(60_000, 100),
  /** Jobs one worker process runs at once. Default 16. */
  WORKER_CONCURRENCY: envInt(16, 1, 1_000),
  /** Attempts per request, first call included; must match the API's. Default 5. */
  MAX_ATTEMPTS: envInt(5, 1, 50),
  /** Base of the exponential backoff (full jitter), ms. Default 1000. */
  RETRY_BASE_DELAY_MS: envInt(1_000, 0),
  /** Cap of one backoff wait, ms. Default 60000. */
  RETRY_MAX_DELAY_MS: envInt(60_000, 0),
  /** Retention of finished request records, s. Default 86400. */
  RESULT_TTL_SECONDS: envInt(86_400, 60),
  /** Longest life of an unfinished record, s. Default 604800. */
  OPEN_REQUEST_TTL_SECONDS: envInt(604_800, 3_600),
  /** How long SIGTERM waits for in-flight jobs before handing them back, ms. Default 30000. */
  SHUTDOWN_TIMEOUT_MS: envInt(30_000, 0),
  /** BullMQ job lock; a dead worker's jobs are picked up after about this long, ms. Default 30000. */
  WORKER_LOCK_DURATION_MS: envInt(30_000, 1_000),
  /** How often stalled jobs are looked for, ms. Default 30000. */
  WORKER_STALLED_INTERVAL_MS: envInt(30_000, 500),
  /** Times a job may stall (its worker died) before it fails. Default 3. */
  WORKER_MAX_STALLED_COUNT: envInt(3, 0, 100),
  /** How often the reconciler checks unfinished requests against their jobs, ms. Default 30000. */
  RECONCILE_INTERVAL_MS: envInt(30_000, 500),
  /** A request must be at least this old before the reconciler repairs it, ms. Default 30000. */
  RECONCILE_MIN_AGE_MS: envInt(30_000, 0),
});

export type WorkerConfig = z.infer<typeof workerEnvSchema>;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig =>
  loadConfig(workerEnvSchema, env);
