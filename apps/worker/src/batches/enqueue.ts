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
  type Line = { id: string; customId: string; line: number; body: Record<string, unknown> };
  let index = 0;
  let chunk: Line[] = [];
  let stopped = false;
  /** Writes a chunk's records and jobs; false when the batch stopped first and nothing was written. */
  const write = async (lines: Line[]): Promise<boolean> => {
    // A batch cancelled or expired meanwhile gets no more lines.
    const state = stopped ? null : await deps.batches.enqueueState(batch.id);
    if (state?.status !== 'in_progress') {
      stopped = true;
      return false;
    }
    // Lines queued after the sweeper promoted the batch (its window is running out) join at that place.
    const priority = state.promotedPriority ?? batchLinePriority();
    await deps.requests.createBatchLines({
      tenantId: tenant.id,
      tier: tenant.tier,
      createdAt: Date.now(),
      endpoint: batch.endpoint,
      batchId: batch.id,
      expiresAt: batch.expiresAt,
      lines: lines.map((l) => ({ ...l, model: String(l.body.model ?? '') })),
    });
    await deps.queue.addBulk(
      lines.map((l) => ({
        name: 'completion',
        data: { requestId: l.id, tenantId: tenant.id },
        opts: completionJobOptions(l.id, priority, { maxAttempts: deps.maxAttempts }),
      })),
    );
    return true;
  };
  // Two chunks in flight: Redis works on one while this process parses the next. The progress
  // marker only ever advances past chunks that are fully written, in file order.
  let previous: Promise<void> = Promise.resolve();
  let beforePrevious: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (chunk.length === 0) return;
    const lines = chunk;
    const upTo = index;
    chunk = [];
    await beforePrevious;
    const written = write(lines);
    written.catch(() => undefined); // its failure surfaces through `done`, which may await it later
    const prior = previous;
    const done = (async () => {
      await prior;
      // A chunk that was written counts even if a later one saw the batch stop: cancel and expiry
      // wait for this enqueue to end, then act on every line below the marker.
      if (await written) await deps.batches.setFields(batch.id, { enqueued: String(upTo) });
    })();
    done.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    beforePrevious = previous;
    previous = done;
  };
  try {
    for await (const { line, text } of jsonlLines(stream)) {
      const current = index++;
      if (current < batch.enqueued) continue;
      const parsed = JSON.parse(text) as { custom_id: string; body: Record<string, unknown> };
      chunk.push({
        id: lineRequestId(batch.id, current),
        customId: parsed.custom_id,
        line,
        body: parsed.body,
      });
      if (chunk.length >= ENQUEUE_CHUNK) await flush();
      if (stopped) break;
    }
    await flush();
  } finally {
    await Promise.allSettled([beforePrevious, previous]);
  }
  await previous;
  return index;
}
