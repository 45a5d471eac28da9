import {
  ApiError,
  type BatchRecord,
  createBatchSchema,
  queueBatchStep,
  TERMINAL_BATCH_STATUSES,
  toBatchObject,
} from '@sluice/core';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { readJson, validate } from '../../middleware/json-body.js';
import { cursorList } from '../cursor-list.js';
import { loadOwnFile } from '../files/index.js';

async function loadOwnBatch(deps: ApiDeps, c: Context<ApiEnv>): Promise<BatchRecord> {
  const id = c.req.param('id') ?? '';
  const batch = /^batch_[0-9a-z]{26}$/.test(id) ? await deps.batches.get(id) : null;
  if (!batch || batch.tenantId !== c.get('tenant').id) {
    throw new ApiError('not_found', `No batch found with id '${id.slice(0, 64)}'.`, 'id');
  }
  return batch;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(64).optional(),
});

/**
 * OpenAI's Batch API: create from an uploaded JSONL file, retrieve, list, cancel. The worker validates
 * the file (a bad file makes the batch `failed` with `errors`, as OpenAI does), enqueues its lines in the
 * batch priority band, and writes the output and error files.
 */
export function registerBatches(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.post('/v1/batches', async (c) => {
    const tenant = c.get('tenant');
    const input = await readJson(c, createBatchSchema);
    const file = await loadOwnFile(deps, c, input.input_file_id).catch(() => {
      throw new ApiError(
        'not_found',
        `No such File object: ${input.input_file_id.slice(0, 64)}`,
        'input_file_id',
      );
    });
    if (file.purpose !== 'batch') {
      throw new ApiError(
        'invalid_request',
        "The input file must have been uploaded with purpose 'batch'.",
        'input_file_id',
      );
    }
    const batch = await deps.batches.create({
      tenantId: tenant.id,
      endpoint: input.endpoint,
      inputFileId: file.id,
      metadata: input.metadata ?? null,
      windowMs: deps.config.BATCH_WINDOW_MS,
    });
    await queueBatchStep(deps.batchQueue, { kind: 'start', batchId: batch.id });
    return c.json(toBatchObject(batch));
  });

  app.get('/v1/batches', async (c) => {
    const q = validate(listQuery, c.req.query());
    const { data, hasMore } = await deps.batches.list(c.get('tenant').id, q.limit, q.after);
    return c.json(cursorList(data.map(toBatchObject), hasMore));
  });

  app.get('/v1/batches/:id', async (c) => c.json(toBatchObject(await loadOwnBatch(deps, c))));

  app.post('/v1/batches/:id/cancel', async (c) => {
    const batch = await loadOwnBatch(deps, c);
    if (TERMINAL_BATCH_STATUSES.includes(batch.status) || batch.status === 'finalizing') {
      throw new ApiError(
        'request_not_cancellable',
        `The batch is ${batch.status}; only unfinished batches can be cancelled.`,
        'id',
      );
    }
    if (batch.status !== 'cancelling') {
      await deps.batches.transition(batch.id, ['validating', 'in_progress'], 'cancelling');
      await queueBatchStep(deps.batchQueue, { kind: 'cancel', batchId: batch.id });
    }
    return c.json(toBatchObject((await deps.batches.get(batch.id)) ?? batch));
  });
}
