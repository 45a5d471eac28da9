import { envBoolean, envInt, loadConfig, sharedEnv } from '@sluice/core';
import { storageEnv } from '@sluice/storage';
import { z } from 'zod';

/** A JSON-valued env variable, validated by `schema`. */
const envJson = <S extends z.ZodType>(schema: S, example: string) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON, e.g. ${example}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const upstreamName = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'upstream names are a-z, 0-9, _ and -');

/** Extra OpenAI-compatible upstreams for fallbacks; the key is read from the env variable named. */
const upstreamsSchema = z.record(
  upstreamName,
  z
    .object({
      baseURL: z.url({ protocol: /^https?$/ }),
      apiKeyEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an environment variable name'),
    })
    .strict(),
);

/** model → ordered fallbacks, each `model` (same upstream) or `upstream/model`. */
const fallbacksSchema = z.record(z.string().min(1), z.array(z.string().min(1)).min(1).max(8));

/** The worker's environment. Every variable is documented in the README's configuration table. */
export const workerEnvSchema = z.object({
  ...sharedEnv,
  ...storageEnv,
  /** Port of the worker's /healthz, /readyz and /metrics. Default 8081. */
  PORT: envInt(8081, 0, 65_535),
  /** Key for the upstream. Unset only makes sense against the simulator. */
  OPENAI_API_KEY: z.string().min(1).default('sk-unset'),
  OPENAI_BASE_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .default('https://api.openai.com/v1'),
  /** Timeout of one upstream call, ms. Default 60000. */
  UPSTREAM_TIMEOUT_MS: envInt(60_000, 100),
  /**
   * Most jobs one worker process holds at once. The fleet-wide number of calls is set by the
   * rate-limit controller (BullMQ global concurrency); this is only a per-process ceiling. Default 64.
   */
  WORKER_CONCURRENCY: envInt(64, 1, 1_000),
  /** Calls in flight per upstream+model before its limits are known. Default 4. */
  RATELIMIT_INITIAL_CONCURRENCY: envInt(4, 1, 1_000),
  /** Most calls in flight per upstream+model. Default 256. */
  RATELIMIT_MAX_CONCURRENCY: envInt(256, 1, 10_000),
  /** Output tokens reserved for a request that sets no max_tokens. Default 1024. */
  DEFAULT_MAX_OUTPUT_TOKENS: envInt(1_024, 1),
  /** A job waits for budget inside the worker up to this long; longer waits go back to the queue, ms. Default 2000. */
  INLINE_WAIT_MAX_MS: envInt(2_000, 0),
  /** 429s one request may meet before it fails with upstream_rate_limited (they spend no attempt). Default 50. */
  MAX_RATE_LIMIT_RETRIES: envInt(50, 1),
  /** Consecutive upstream failures that open the circuit breaker. Default 5. */
  BREAKER_CONSECUTIVE_FAILURES: envInt(5, 1),
  /** Failure share (0-1) within the window that opens the breaker. Default 0.5. */
  BREAKER_ERROR_RATE: z.coerce.number().gt(0).max(1).default(0.5),
  /** Calls in the window before the error rate counts. Default 20. */
  BREAKER_MIN_REQUESTS: envInt(20, 1),
  /** Error-rate window, ms. Default 30000. */
  BREAKER_WINDOW_MS: envInt(30_000, 100),
  /** How long an open breaker waits before probing, ms. Default 10000. */
  BREAKER_COOLDOWN_MS: envInt(10_000, 10),
  /** A request waiting on an unavailable upstream (breaker open, no fallback) fails after this long, ms. Default 300000. */
  UPSTREAM_MAX_WAIT_MS: envInt(300_000, 0),
  /** Extra upstreams for fallbacks, JSON: {"backup":{"baseURL":"https://…/v1","apiKeyEnv":"BACKUP_API_KEY"}}. */
  UPSTREAMS: envJson(
    upstreamsSchema,
    '{"backup":{"baseURL":"https://example.com/v1","apiKeyEnv":"BACKUP_KEY"}}',
  ).default({}),
  /** Fallback chains, JSON: {"gpt-4o":["gpt-4o-mini","backup/gpt-4o"]}. */
  MODEL_FALLBACKS: envJson(fallbacksSchema, '{"gpt-4o":["gpt-4o-mini"]}').default({}),
  /** A queued request waiting longer than this is moved ahead of every tier (aging), ms. Default 300000. */
  AGING_MAX_WAIT_MS: envInt(300_000, 1_000),
  /** How often the aging sweep runs, ms. Default 5000. */
  AGING_INTERVAL_MS: envInt(5_000, 100),
  /** Webhook deliveries one worker process makes at once. Default 50. */
  WEBHOOK_CONCURRENCY: envInt(50, 1, 1_000),
  /** Timeout of one webhook delivery attempt, ms. Default 15000. */
  WEBHOOK_TIMEOUT_MS: envInt(15_000, 100),
  /**
   * When each delivery attempt happens, ms after the message: the first is the initial attempt.
   * Default: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (each with ±10% jitter).
   */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'a comma-separated list of milliseconds, e.g. 0,5000,300000')
    .default('0,5000,300000,1800000,7200000,18000000,36000000,50400000,72000000,86400000')
    .transform((v) => v.split(',').map(Number)),
  /** An endpoint whose every delivery has failed for this long is disabled, ms. Default 5 days. */
  WEBHOOK_DISABLE_AFTER_MS: envInt(5 * 86_400_000, 0),
  /** Allow webhook targets on private networks (local development and tests only). Default false. */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: envBoolean(false),
  /** How often active batches are checked for completion, expiry and promotion, ms. Default 1000. */
  BATCH_SWEEP_INTERVAL_MS: envInt(1_000, 100),
  /** How often files past their `expires_after` are deleted (bytes and record), ms. Default 60000. */
  FILE_SWEEP_INTERVAL_MS: envInt(60_000, 100),
  /** A batch with less than this left of its window moves ahead of the free tier, ms. Default 6 h. */
  BATCH_PROMOTE_BEFORE_MS: envInt(6 * 3_600_000, 0),
  /** A batch with less than this left of its window moves ahead of every tier, ms. Default 2 h. */
  BATCH_URGENT_BEFORE_MS: envInt(2 * 3_600_000, 0),
  /** How often finished requests whose webhook events were never queued are re-queued, ms. Default 5000. */
  OUTBOX_SWEEP_INTERVAL_MS: envInt(5_000, 100),
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
