import {
  type BatchStore,
  type Logger,
  QUEUES,
  type RedisKeys,
  type RequestStore,
  type WebhookJobData,
  type WebhookStore,
} from '@sluice/core';
import { type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkerConfig } from '../config.js';
import type { InFlight } from '../inflight.js';
import { createDeliveryProcessor, retryJitter, webhookBackoffMs } from './deliver.js';
import { dispatchBatchEvent, dispatchRequestEvent } from './dispatch.js';

export { OutboxSweeper } from './outbox.js';

/**
 * The webhook worker pool: its own BullMQ queue and Worker, so a slow receiver never holds a
 * completion slot. `dispatch` jobs fan an event out to endpoints; `deliver` jobs make one attempt.
 */
export function startWebhookWorker(deps: {
  config: WorkerConfig;
  connection: Redis;
  redis: Redis;
  keys: RedisKeys;
  queue: Queue<WebhookJobData>;
  requests: RequestStore;
  webhooks: WebhookStore;
  batches: BatchStore;
  log: Logger;
  inFlight: InFlight;
}): Worker<WebhookJobData, string> {
  const { config, keys, log } = deps;
  const schedule = config.WEBHOOK_RETRY_SCHEDULE_MS;
  const deliver = createDeliveryProcessor({
    webhooks: deps.webhooks,
    log,
    options: {
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      schedule,
      disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
    },
  });
  const worker = new Worker<WebhookJobData, string>(
    QUEUES.webhooks,
    deps.inFlight.track(async (job: Job<WebhookJobData, string>) => {
      if (job.data.kind === 'dispatch') {
        const queued = await dispatchRequestEvent({ ...deps, schedule }, job.data.requestId);
        return `dispatched ${queued}`;
      }
      if (job.data.kind === 'dispatch-batch') {
        const queued = await dispatchBatchEvent({ ...deps, schedule }, job.data.batchId);
        return `dispatched ${queued}`;
      }
      if (job.data.kind === 'deliver') return deliver(job);
      throw new UnrecoverableError('unknown webhook job');
    }),
    {
      connection: deps.connection,
      prefix: keys.bullPrefix,
      concurrency: config.WEBHOOK_CONCURRENCY,
      // The same crash recovery as completions: a dead worker's deliveries move on after the lock.
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
      settings: {
        backoffStrategy: (attemptsMade, type, err, job) =>
          type === 'webhook'
            ? webhookBackoffMs(attemptsMade, schedule, err, retryJitter(job?.id, attemptsMade))
            : 1_000 * 2 ** attemptsMade,
      },
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'webhook worker error'));
  return worker;
}
