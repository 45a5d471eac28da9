import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  BatchStore,
  closeRedis,
  createBatchesQueue,
  createCompletionsQueue,
  createLogger,
  createRedis,
  createWebhooksQueue,
  FileStore,
  type Logger,
  RequestStore,
  redisKeys,
  settlesWithin,
  TenantStore,
  WebhookStore,
} from '@sluice/core';
import { createFileStorage, storageConfigFromEnv } from '@sluice/storage';
import { createApp } from './app.js';
import type { ApiConfig } from './config.js';
import type { ApiDeps } from './context.js';
import { createApiMetrics } from './metrics.js';
import { CompletionWaiter } from './polling/waiter.js';

export interface ApiHandle {
  url: string;
  port: number;
  deps: ApiDeps;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes connections. Idempotent. */
  close(): Promise<void>;
}

/** Builds the API's dependencies from config and starts listening. */
export async function startApi(
  config: ApiConfig,
  log: Logger = createLogger('api', config.LOG_LEVEL),
): Promise<ApiHandle> {
  const keys = redisKeys(config.SLUICE_PREFIX);
  const redis = createRedis(config.REDIS_URL, 'api');
  const subscriber = createRedis(config.REDIS_URL, 'subscriber');
  const queueConnection = createRedis(config.REDIS_URL, 'api');
  for (const [name, conn] of Object.entries({ redis, subscriber, queueConnection })) {
    conn.on('error', (err) => log.warn({ err: err.message, connection: name }, 'redis connection error'));
  }
  const queue = createCompletionsQueue(queueConnection, keys);
  const batchQueue = createBatchesQueue(queueConnection, keys);
  batchQueue.on('error', (err) => log.warn({ err: err.message }, 'batch queue error'));
  const storage = createFileStorage(storageConfigFromEnv(config));
  const webhookQueue = createWebhooksQueue(queueConnection, keys);
  webhookQueue.on('error', (err) => log.warn({ err: err.message }, 'webhook queue error'));
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));
  const waiter = new CompletionWaiter(subscriber, keys, log);
  await waiter.start();

  let shuttingDown = false;
  const deps: ApiDeps = {
    config,
    redis,
    keys,
    queue,
    requests: new RequestStore(redis, keys, {
      resultTtlSeconds: config.RESULT_TTL_SECONDS,
      openTtlSeconds: config.OPEN_REQUEST_TTL_SECONDS,
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    }),
    tenants: new TenantStore(redis, keys),
    webhooks: new WebhookStore(redis, keys),
    files: new FileStore(redis, keys),
    storage,
    batches: new BatchStore(redis, keys),
    batchQueue,
    webhookQueue,
    waiter,
    metrics: createApiMetrics(queue),
    log,
    isShuttingDown: () => shuttingDown,
  };
  const app = createApp(deps);

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host: config.HOST }, 'api listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      shuttingDown = true;
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Held long polls answer now with the current state instead of holding shutdown up.
      await settlesWithin(waiter.close(), 2_000);
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), config.SHUTDOWN_TIMEOUT_MS).unref()),
      ]);
      if (timedOut) {
        log.warn('shutdown timeout: closing remaining connections');
        if ('closeAllConnections' in server) server.closeAllConnections();
      }
      // With Redis gone, a queue close can wait forever for a reconnect: bounded.
      await settlesWithin(
        Promise.all([queue.close(), webhookQueue.close(), batchQueue.close(), storage.close()]),
        2_000,
      );
      await Promise.all([closeRedis(redis), closeRedis(subscriber), closeRedis(queueConnection)]);
      log.info('api stopped');
    })();
    return closing;
  };
  return { url: `http://${config.HOST}:${port}`, port, deps, close };
}
