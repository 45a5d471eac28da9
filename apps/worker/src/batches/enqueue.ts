import type { Readable } from 'node:stream';
import {
  type BatchRecord,
  type BatchStore,
  batchLinePriority,
  type CompletionJobData,
  completionJobOptions,
  type RequestStore,
  type Tenant,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import { jsonlLines, lineRequestId } from './lines.js';

/** Lines written and queued per round trip. */
export const ENQUEUE_CHUNK = 1_000;

/**
 * Turns each line of a validated batch into a request record and a completion job in the batch band,
 * in chunks. Ids are deterministic and records are never overwritten, so after a crash mid-way the
 * next run resumes from `enqueued` and re-adding a chunk is harmless (addBulk is not atomic).
 */
export async function enqueueBatchLines(
  deps: { requests: RequestStore; batches: BatchStore; queue: Queue<CompletionJobData>; maxAttempts: number },
  batch: BatchRecord,
  tenant: Tenant,
  stream: Readable,
): Promise<number> {
  let index = 0;
  let chunk: { id: string; customId: string; line: number; body: Record<string, unknown> }[] = [];
  let stopped = false;
  const flush = async () => {
    if (chunk.length === 0) return;
    // A batch cancelled or expired meanwhile gets no more lines.
    if ((await deps.batches.status(batch.id)) !== 'in_progress') {
      stopped = true;
      chunk = [];
      return;
    }
    const now = Date.now();
    await Promise.all(
      chunk.map((l) =>
        deps.requests.create({
          id: l.id,
          tenantId: tenant.id,
          tier: tenant.tier,
          model: String(l.body.model ?? ''),
          priority: 'low',
          createdAt: now,
          metadata: {},
          body: l.body,
          endpoint: batch.endpoint,
          batch: { batchId: batch.id, customId: l.customId, line: l.line },
        }),
      ),
    );
    await deps.queue.addBulk(
      chunk.map((l) => ({
        name: 'completion',
        data: { requestId: l.id, tenantId: tenant.id },
        opts: completionJobOptions(l.id, batchLinePriority(), { maxAttempts: deps.maxAttempts }),
      })),
    );
    await deps.batches.setFields(batch.id, { enqueued: String(index) });
    chunk = [];
  };
  for await (const { line, text } of jsonlLines(stream)) {
    const current = index++;
    if (current < batch.enqueued) continue;
    const parsed = JSON.parse(text) as { custom_id: string; body: Record<string, unknown> };
    chunk.push({ id: lineRequestId(batch.id, current), customId: parsed.custom_id, line, body: parsed.body });
    if (chunk.length >= ENQUEUE_CHUNK) await flush();
    if (stopped) break;
  }
  await flush();
  return index;
}
