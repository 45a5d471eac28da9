/**
 * The processes of one `pnpm bench:webhooks` scenario: a fresh redis-server, the upstream simulator
 * (no rate limits), the API and one worker, started by bench/lib/stack.ts with the webhook settings both
 * processes need (the benchmark's receiver is on 127.0.0.1, which the SSRF guard refuses unless told
 * otherwise).
 */
import { type SluiceStack, startStack } from './stack.js';

/** API environment (on top of REDIS_URL, SLUICE_PREFIX, ADMIN_TOKEN, HOST, PORT). */
export const WEBHOOK_API_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SHUTDOWN_TIMEOUT_MS: '2000',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
};

/**
 * Worker environment (on top of REDIS_URL, SLUICE_PREFIX, ADMIN_TOKEN, HOST, PORT, OPENAI_BASE_URL,
 * OPENAI_API_KEY). The webhook knobs are set empty, which the worker reads as unset: whatever the shell
 * exports, the run uses their defaults (WEBHOOK_CONCURRENCY 50, WEBHOOK_TIMEOUT_MS 15000, the default
 * retry schedule). Everything else is at its default too, except logging and the teardown drain.
 */
export const WEBHOOK_WORKER_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SHUTDOWN_TIMEOUT_MS: '2000',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_CONCURRENCY: '',
  WEBHOOK_TIMEOUT_MS: '',
  WEBHOOK_RETRY_SCHEDULE_MS: '',
  WORKER_CONCURRENCY: '',
};

/** The worker's default `WEBHOOK_CONCURRENCY` (apps/worker/src/config.ts), which this benchmark runs with. */
export const DEFAULT_WEBHOOK_CONCURRENCY = 50;

export interface WebhookStack extends SluiceStack {
  /** Process ids of the worker, the API, the simulator and redis-server (when known), for CPU accounting. */
  pids: Record<string, number>;
}

/** Starts Redis, the simulator (no limits, `latencyMs`), the API and one worker. Stops what it started on error. */
export async function startWebhookStack(latencyMs: number): Promise<WebhookStack> {
  // SIM_RPM / SIM_TPM 0: no limits (the window is then irrelevant; 60 s is the simulator's default).
  const stack = await startStack(
    { rpm: 0, tpm: 0, windowMs: 60_000, latencyMs },
    { workers: 1, apiEnv: WEBHOOK_API_ENV, workerEnv: WEBHOOK_WORKER_ENV, prefix: 'bench-webhooks' },
  );
  try {
    const pids: Record<string, number> = {
      worker: stack.process('worker').pid,
      api: stack.process('api').pid,
      simulator: stack.process('upstream-sim').pid,
    };
    const redisPid = await stack.readRedisPid();
    if (redisPid !== undefined) pids.redis = redisPid;
    return { ...stack, pids };
  } catch (err) {
    await stack.stop().catch(() => undefined);
    throw err;
  }
}
