import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  type BatchJobData,
  BatchStore,
  type CompletionJobData,
  closeRedis,
  createBatchesQueue,
  createCompletionsQueue,
  createLogger,
  createRedis,
  createWebhooksQueue,
  FileStore,
  type Logger,
  QUEUES,
  queueWebhookDispatch,
  RequestStore,
  redisKeys,
  settlesWithin,
  TenantStore,
  WebhookStore,
} from '@sluice/core';
import { createFileStorage, storageConfigFromEnv } from '@sluice/storage';
import { type ControllerOptions, RateLimitController } from '@sluice/upstream';
import { Worker } from 'bullmq';
import { AgingSweeper } from './aging.js';
import { backoffDelayMs } from './backoff.js';
import { createBatchProcessor } from './batches/steps.js';
import { BatchSweeper } from './batches/sweeper.js';
import { noCache } from './cache.js';
import type { WorkerConfig } from './config.js';
import { FileSweeper } from './files-sweeper.js';
import { ConcurrencyGovernor } from './governor.js';
import { InFlight } from './inflight.js';
import { createWorkerMetrics } from './metrics.js';
import { createOpsApp } from './ops-server.js';
import { createCompletionProcessor } from './processor.js';
import { Reconciler } from './reconciler.js';
import { Router } from './routing.js';
import { OutboxSweeper, startWebhookWorker } from './webhooks/index.js';

export interface WorkerHandle {
  /** URL of the ops server (/healthz, /readyz, /metrics). */
  url: string;
  worker: Worker<CompletionJobData, string>;
  reconciler: Reconciler;
  outbox: OutboxSweeper;
  fileSweeper: FileSweeper;
  aging: AgingSweeper;
  controller: RateLimitController;
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
  const metrics = createWorkerMetrics(redis, keys);
  const requests = new RequestStore(redis, keys, {
    resultTtlSeconds: config.RESULT_TTL_SECONDS,
    openTtlSeconds: config.OPEN_REQUEST_TTL_SECONDS,
    idempotencyTtlSeconds: 86_400,
  });
  const router = new Router(config);
  const controller = new RateLimitController(redis, keys, controllerOptions(config));
  const queue = createCompletionsQueue(queueConnection, keys);
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));
  const webhookConnection = createRedis(config.REDIS_URL, 'worker');
  webhookConnection.on('error', (err) =>
    log.warn({ err: err.message, connection: 'webhooks' }, 'redis connection error'),
  );
  const webhookQueue = createWebhooksQueue(queueConnection, keys);
  webhookQueue.on('error', (err) => log.warn({ err: err.message }, 'webhook queue error'));
  const webhooks = new WebhookStore(redis, keys);
  const batches = new BatchStore(redis, keys);
  const storage = createFileStorage(storageConfigFromEnv(config));
  const batchQueue = createBatchesQueue(queueConnection, keys);
  batchQueue.on('error', (err) => log.warn({ err: err.message }, 'batch queue error'));
  // Every terminal transition queues its webhook events from here (the outbox sweep is the backstop).
  const onFinished = (requestId: string) => {
    queueWebhookDispatch(webhookQueue, requestId).catch((err) =>
      log.warn({ err: String(err), requestId }, 'could not queue webhook dispatch; the outbox sweep will'),
    );
  };
  const governor = new ConcurrencyGovernor(queue, log, config.RATELIMIT_INITIAL_CONCURRENCY);
  await governor.start();

  // Jobs in hand across all three pools; shutdown waits on these, see InFlight.
  const inFlight = new InFlight();
  const worker = new Worker<CompletionJobData, string>(
    QUEUES.completions,
    inFlight.track(
      createCompletionProcessor({
        requests,
        router,
        controller,
        cache: noCache,
        metrics,
        log,
        onTarget: (scope, target) => governor.update(scope, target),
        onFinished,
        options: {
          maxAttempts: config.MAX_ATTEMPTS,
          defaultMaxOutputTokens: config.DEFAULT_MAX_OUTPUT_TOKENS,
          inlineWaitMaxMs: config.INLINE_WAIT_MAX_MS,
          maxRateLimitRetries: config.MAX_RATE_LIMIT_RETRIES,
          upstreamMaxWaitMs: config.UPSTREAM_MAX_WAIT_MS,
          recordGraceMs: 30_000,
        },
      }),
    ),
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
        if (r !== 'ok') return;
        metrics.requestsFinished.inc({ status: 'failed', code: 'worker_lost' });
        onFinished(job.data.requestId);
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
    onFinished,
    maxAttempts: config.MAX_ATTEMPTS,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    minAgeMs: config.RECONCILE_MIN_AGE_MS,
  });
  reconciler.start();
  const webhookWorker = startWebhookWorker({
    config,
    connection: webhookConnection,
    redis,
    keys,
    queue: webhookQueue,
    requests,
    webhooks,
    batches,
    log,
    inFlight,
  });
  const batchConnection = createRedis(config.REDIS_URL, 'worker');
  batchConnection.on('error', (err) =>
    log.warn({ err: err.message, connection: 'batches' }, 'redis connection error'),
  );
  const batchWorker = new Worker<BatchJobData, string>(
    QUEUES.batches,
    inFlight.track(
      createBatchProcessor({
        batches,
        files: new FileStore(redis, keys),
        storage,
        requests,
        tenants: new TenantStore(redis, keys),
        completions: queue,
        webhookQueue,
        batchQueue,
        log,
        maxAttempts: config.MAX_ATTEMPTS,
      }),
    ),
    {
      connection: batchConnection,
      prefix: keys.bullPrefix,
      concurrency: 2,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
    },
  );
  batchWorker.on('error', (err) => log.warn({ err: err.message }, 'batch worker error'));
  const batchSweeper = new BatchSweeper({
    redis,
    keys,
    batches,
    queue: batchQueue,
    log,
    intervalMs: config.BATCH_SWEEP_INTERVAL_MS,
    promoteBeforeMs: config.BATCH_PROMOTE_BEFORE_MS,
    urgentBeforeMs: config.BATCH_URGENT_BEFORE_MS,
  });
  batchSweeper.start();
  const fileSweeper = new FileSweeper({
    redis,
    keys,
    files: new FileStore(redis, keys),
    storage,
    log,
    intervalMs: config.FILE_SWEEP_INTERVAL_MS,
  });
  fileSweeper.start();
  const outbox = new OutboxSweeper({
    redis,
    keys,
    queue: webhookQueue,
    log,
    intervalMs: config.OUTBOX_SWEEP_INTERVAL_MS,
  });
  outbox.start();
  const aging = new AgingSweeper({
    redis,
    keys,
    queue,
    requests,
    log,
    maxWaitMs: config.AGING_MAX_WAIT_MS,
    intervalMs: config.AGING_INTERVAL_MS,
  });
  aging.start();

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
    {
      port,
      concurrency: config.WORKER_CONCURRENCY,
      upstream: new URL(config.OPENAI_BASE_URL).origin,
      fallbacks: Object.keys(config.MODEL_FALLBACKS).length,
    },
    'worker started',
  );

  const close = () => {
    closing ??= (async () => {
      // Stop the timers. A sweep blocked on an unreachable Redis is abandoned, not waited for.
      await settlesWithin(
        Promise.all([
          reconciler.stop(),
          aging.stop(),
          outbox.stop(),
          batchSweeper.stop(),
          fileSweeper.stop(),
        ]),
        2_000,
      );
      // Every pool stops taking work at once and finishes what it holds, within one budget. A batch
      // step cut short runs again elsewhere (each step is resumable); an unfinished delivery is retried.
      const pools = [worker, batchWorker, webhookWorker];
      const closed = Promise.all(pools.map((pool) => pool.close()));
      const drained = inFlight.idle().then(() => settlesWithin(closed, 2_000));
      if (!(await settlesWithin(drained, config.SHUTDOWN_TIMEOUT_MS))) {
        // Abort the calls still running; the processor hands each job back without spending an attempt.
        log.warn({ inFlight: inFlight.count }, 'shutdown timeout: aborting in-flight jobs');
        for (const pool of pools) pool.cancelAllJobs('shutdown');
        await settlesWithin(inFlight.idle(), 5_000);
      }
      // With Redis gone, a close can wait forever for a reconnect: everything below is bounded.
      await settlesWithin(Promise.all(pools.map((pool) => pool.close(true))), 2_000);
      await settlesWithin(
        Promise.all([queue.close(), webhookQueue.close(), batchQueue.close(), storage.close()]),
        2_000,
      );
      await settlesWithin(new Promise<void>((resolve) => server.close(() => resolve())), 2_000);
      await Promise.all([
        closeRedis(redis),
        closeRedis(workerConnection),
        closeRedis(queueConnection),
        closeRedis(webhookConnection),
        closeRedis(batchConnection),
      ]);
      log.info('worker stopped');
    })();
    return closing;
  };

  return {
    url: `http://${config.HOST}:${port}`,
    worker,
    reconciler,
    outbox,
    aging,
    fileSweeper,
    controller,
    close,
  };
}

/** The controller's tuning from the worker's config. */
export function controllerOptions(config: WorkerConfig): ControllerOptions {
  return {
    initialConcurrency: config.RATELIMIT_INITIAL_CONCURRENCY,
    maxConcurrency: config.RATELIMIT_MAX_CONCURRENCY,
    concurrencyHeadroom: 1.5,
    // A lease outlives the longest call it covers; after that its worker is presumed dead.
    leaseTtlMs: config.UPSTREAM_TIMEOUT_MS + 30_000,
    defaultPauseMs: 1_000,
    breaker: {
      consecutiveFailures: config.BREAKER_CONSECUTIVE_FAILURES,
      errorRate: config.BREAKER_ERROR_RATE,
      minRequests: config.BREAKER_MIN_REQUESTS,
      windowMs: config.BREAKER_WINDOW_MS,
      cooldownMs: config.BREAKER_COOLDOWN_MS,
      halfOpenProbes: 1,
    },
  };
}
