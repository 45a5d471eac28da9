import {
  type BatchJobData,
  type BatchStore,
  type CompletionJobData,
  type FileStore,
  type Logger,
  queueBatchDispatch,
  type RequestStore,
  type TenantStore,
  toBatchObject,
  type WebhookJobData,
} from '@sluice/core';
import type { FileStorage } from '@sluice/storage';
import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import { enqueueBatchLines } from './enqueue.js';
import { finalizeBatch } from './finalize.js';
import { lineRequestId } from './lines.js';
import { validateBatchFile } from './validate.js';

export interface BatchStepDeps {
  batches: BatchStore;
  files: FileStore;
  storage: FileStorage;
  requests: RequestStore;
  tenants: TenantStore;
  completions: Queue<CompletionJobData>;
  webhookQueue: Queue<WebhookJobData>;
  /** The batches queue itself: cancel and expire wait for the batch's start step to stop. */
  batchQueue: Queue<BatchJobData>;
  log: Logger;
  maxAttempts: number;
}

/** How long cancel or expire waits for an enqueue in progress to notice and stop (it checks per chunk). */
const ENQUEUE_STOP_WAIT_MS = 30_000;

/** One step of a batch's life; every step can run again after a crash without doing anything twice. */
export function createBatchProcessor(deps: BatchStepDeps) {
  const { batches, requests, completions, log } = deps;

  // The terminal transition already put the batch in the webhook outbox; this queues it now.
  const batchEvent = (batchId: string) => queueBatchDispatch(deps.webhookQueue, batchId);

  /**
   * Waits until the batch's start step (validate + enqueue) is no longer running. It checks the
   * status before every chunk, so it stops within a chunk or two of a cancel or expiry; waiting for it
   * means the lines it was writing at that moment are counted in `enqueued` and get cancelled (or
   * expired) with the rest, instead of running after the batch was cancelled.
   */
  const untilEnqueueStops = async (batchId: string) => {
    const deadline = Date.now() + ENQUEUE_STOP_WAIT_MS;
    while (Date.now() < deadline) {
      const start = await deps.batchQueue.getJob(`start-${batchId}`);
      if (!start || !(await start.isActive())) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    log.warn({ batchId }, 'enqueue still running after cancel or expiry; going on without it');
  };

  /** Each enqueued line's request id, in order. */
  const lineIds = (batchId: string, count: number) =>
    Array.from({ length: count }, (_, i) => lineRequestId(batchId, i));

  return async (job: Job<BatchJobData>): Promise<string> => {
    const batch = await batches.get(job.data.batchId);
    if (!batch) return 'gone';
    switch (job.data.kind) {
      case 'start': {
        if (batch.status !== 'validating' && batch.status !== 'in_progress') return batch.status;
        const file = await deps.files.get(batch.inputFileId);
        const tenant = await deps.tenants.get(batch.tenantId);
        if (!file || file.tenantId !== batch.tenantId || !tenant) {
          await batches.transition(batch.id, ['validating'], 'failed', {
            errors: JSON.stringify([
              {
                code: 'file_not_found',
                line: null,
                message: 'The input file no longer exists.',
                param: 'input_file_id',
              },
            ]),
          });
          await batchEvent(batch.id);
          return 'failed';
        }
        if (batch.status === 'validating') {
          const result = await validateBatchFile(await deps.storage.get(file.storageKey), batch.endpoint);
          if (!result.ok) {
            await batches.transition(batch.id, ['validating'], 'failed', {
              errors: JSON.stringify(result.errors),
            });
            await batchEvent(batch.id);
            return 'failed';
          }
          if (
            !(await batches.transition(batch.id, ['validating'], 'in_progress', {
              total: String(result.total),
              model: result.model,
            }))
          ) {
            return 'not_validating';
          }
        }
        const fresh = (await batches.get(batch.id)) ?? batch;
        const enqueued = await enqueueBatchLines(
          { requests, batches, queue: completions, maxAttempts: deps.maxAttempts },
          fresh,
          tenant,
          await deps.storage.get(file.storageKey),
        );
        log.info({ batchId: batch.id, enqueued }, 'batch enqueued');
        return 'enqueued';
      }
      case 'cancel': {
        await untilEnqueueStops(batch.id);
        const current = (await batches.get(batch.id)) ?? batch;
        let cancelled = 0;
        for (const id of lineIds(batch.id, current.enqueued)) {
          if ((await requests.cancel(id)) === 'ok') {
            cancelled++;
            await completions.remove(id).catch(() => undefined);
          }
        }
        return `cancelled ${cancelled}`;
      }
      case 'expire': {
        if (
          !(await batches.transition(batch.id, ['validating', 'in_progress', 'cancelling'], 'finalizing', {
            final_status: 'expired',
          }))
        ) {
          return batch.status;
        }
        await untilEnqueueStops(batch.id);
        const current = (await batches.get(batch.id)) ?? batch;
        for (const id of lineIds(batch.id, current.enqueued)) {
          const done = await requests.fail(id, {
            code: 'batch_expired',
            message: 'The batch expired before this request ran.',
          });
          if (done === 'ok') await completions.remove(id).catch(() => undefined);
        }
        await finalizeBatch(deps, (await batches.get(batch.id)) ?? batch, 'expired');
        await batchEvent(batch.id);
        return 'expired';
      }
      case 'promote': {
        const priority = job.data.priority;
        for (const id of lineIds(batch.id, batch.enqueued)) {
          const line = await completions.getJob(id);
          if (line && (line.priority ?? 0) > priority) await line.changePriority({ priority });
        }
        await batches.setFields(batch.id, { promoted_priority: String(priority) });
        return `promoted to ${priority}`;
      }
      case 'finalize': {
        const final = job.data.final;
        if (
          batch.status !== 'finalizing' &&
          !(await batches.transition(batch.id, ['in_progress', 'cancelling'], 'finalizing', {
            final_status: final,
          }))
        ) {
          return batch.status;
        }
        await finalizeBatch(deps, (await batches.get(batch.id)) ?? batch, final);
        await batchEvent(batch.id);
        log.info(
          { batchId: batch.id, final, request_counts: toBatchObject(batch).request_counts },
          'batch finalized',
        );
        return final;
      }
      default:
        throw new UnrecoverableError('unknown batch step');
    }
  };
}
