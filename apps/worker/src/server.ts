import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  type CompletionJobData,
  closeRedis,
  createCompletionsQueue,
  createLogger,
  createRedis,
  type Logger,
  QUEUES,
  RequestStore,
  redisKeys,
} from '@sluice/core';
import { UpstreamClient } from '@sluice/upstream';
import { Worker } from 'bullmq';
import { backoffDelayMs } from './backoff.js';
import type { WorkerConfig } from './config.js';
import { createWorkerMetrics } from './metrics.js';
import { createOpsApp } from './ops-server.js';
import { createCompletionProcessor } from './processor.js';
import { Reconciler } from './reconciler.js';

export interface WorkerHandle {
  /** URL of the ops server (/healthz, /readyz, /metrics). */
  url: string;
  worker: Worker<CompletionJobData, string>;
  reconciler: Reconciler;
  /** Finishes in-flight jobs (bounded by SHUTDOWN_TIMEOUT_MS, then hands them back). Idempotent. */
  close(): Promise<void>;
}

/** Starts a completions worker and its ops server. */
export async function startWorker(
  config: WorkerConfig,
  log: Logger = createLogger('worker', config.LOG_LEVEL),
): Promise<WorkerHandle> {
  const keys = redisKeys(config.SLUICE_PREFIX);
  const redis = createRedis(config.REDIS_URL, 'worker');
  const workerConnection = createRedis(config.REDIS_URL, 'worker');
  const queueConnection = createRedis(config.REDIS_URL, 'worker');
  for (const [name, conn] of Object.entries({ redis, workerConnection, queueConnection })) {
    conn.on('error', (err) => log.warn({ err: err.message, connection: name }, 'redis connection error'));
  }
  const metrics = createWorkerMetrics();
  const requests = new RequestStore(redis, keys, {
    resultTtlSeconds: config.RESULT_TTL_SECONDS,
    openTtlSeconds: config.OPEN_REQUEST_TTL_SECONDS,
    idempotencyTtlSeconds: 86_400,
  });
  const upstream = new UpstreamClient({
    baseURL: config.OPENAI_BASE_URL,
    apiKey: config.OPENAI_API_KEY,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
  });
  const queue = createCompletionsQueue(queueConnection, keys);
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));

  const worker = new Worker<CompletionJobData, string>(
    QUEUES.completions,
    createCompletionProcessor({ requests, upstream, metrics, log, maxAttempts: config.MAX_ATTEMPTS }),
    {
      connection: workerConnection,
      prefix: keys.bullPrefix,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
      settings: {
        backoffStrategy: (attemptsMade, _type, err) =>
          backoffDelayMs(attemptsMade, err, {
            baseDelayMs: config.RETRY_BASE_DELAY_MS,
            maxDelayMs: config.RETRY_MAX_DELAY_MS,
          }),
      },
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
  // A job can fail without the processor deciding it (it stalled too often). Record that at once;
  // the reconciler catches the case where this process dies before it could.
  worker.on('failed', (job, err) => {
    if (!job) return;
    const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    if (!exhausted) return;
    requests
      .fail(job.data.requestId, {
        code: 'worker_lost',
        message: `The job failed outside the processor: ${err.message}`,
      })
      .then((r) => {
        if (r === 'ok') metrics.requestsFinished.inc({ status: 'failed', code: 'worker_lost' });
      })
      .catch((e) =>
        log.warn({ err: String(e), requestId: job.data.requestId }, 'could not record job failure'),
      );
  });
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'job stalled; it will run again'));

  const reconciler = new Reconciler({
    redis,
    keys,
    queue,
    requests,
    metrics,
    log,
    maxAttempts: config.MAX_ATTEMPTS,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    minAgeMs: config.RECONCILE_MIN_AGE_MS,
  });
  reconciler.start();

  let closing: Promise<void> | undefined;
  const ops = createOpsApp({
    redis,
    registry: metrics.registry,
    tokens: [config.METRICS_TOKEN, config.ADMIN_TOKEN],
    isReady: () => closing === undefined && worker.isRunning(),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: ops.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  await worker.waitUntilReady();
  log.info(
    { port, concurrency: config.WORKER_CONCURRENCY, upstream: new URL(config.OPENAI_BASE_URL).origin },
    'worker started',
  );

  const close = () => {
    closing ??= (async () => {
      await reconciler.stop();
      const finished = worker.close().then(() => true);
      const inTime = await Promise.race([
        finished,
        new Promise<false>((r) => setTimeout(() => r(false), config.SHUTDOWN_TIMEOUT_MS).unref()),
      ]);
      if (!inTime) {
        // Abort the calls still running; the processor hands each job back without spending an attempt.
        log.warn('shutdown timeout: aborting in-flight jobs');
        worker.cancelAllJobs('shutdown');
        await Promise.race([finished, new Promise((r) => setTimeout(r, 5_000).unref())]);
        await worker.close(true).catch(() => undefined);
      }
      await queue.close().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([closeRedis(redis), closeRedis(workerConnection), closeRedis(queueConnection)]);
      log.info('worker stopped');
    })();
    return closing;
  };

  return { url: `http://${config.HOST}:${port}`, worker, reconciler, close };
}
