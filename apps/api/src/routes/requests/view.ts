import { type RequestRecord, type RequestView, TERMINAL_STATUSES, toRequestView } from '@sluice/core';
import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { validate } from '../../middleware/json-body.js';
import { estimateCompletion } from '../../polling/estimate.js';

const isTerminal = (r: RequestRecord) => TERMINAL_STATUSES.includes(r.status);

/** Parses `?wait=N` (seconds, at most MAX_WAIT_SECONDS). */
export function waitSeconds(deps: ApiDeps, c: Context<ApiEnv>): number {
  const query = z.object({
    wait: z.coerce
      .number()
      .min(0)
      .max(deps.config.MAX_WAIT_SECONDS, `must be at most ${deps.config.MAX_WAIT_SECONDS} seconds`)
      .optional(),
  });
  return validate(query, { wait: c.req.query('wait') }).wait ?? 0;
}

/** Holds until the request is terminal or `seconds` pass, then returns its latest record. */
export async function waitForTerminal(
  deps: ApiDeps,
  record: RequestRecord,
  seconds: number,
): Promise<RequestRecord> {
  if (seconds <= 0 || isTerminal(record)) return record;
  const id = record.id;
  await deps.waiter.wait(id, seconds * 1000, async () => {
    const now = await deps.requests.get(id);
    return !now || isTerminal(now);
  });
  return (await deps.requests.get(id)) ?? record;
}

/** Answers with the request view; while unfinished, adds an estimate and a Retry-After header. */
export async function respondWithView(
  deps: ApiDeps,
  c: Context<ApiEnv>,
  record: RequestRecord,
  status: 200 | 202 = 200,
) {
  const view: RequestView = toRequestView(record);
  if (!isTerminal(record)) {
    // The estimate is a courtesy: if Redis fails here the request itself is safe, so still answer.
    const estimate = await estimateCompletion(deps.redis, deps.keys, deps.requests, record).catch(() => null);
    view.estimated_completion_at = estimate?.estimatedCompletionAt ?? null;
    c.header('Retry-After', String(estimate?.retryAfterSeconds ?? 1));
  }
  return c.json(view, status);
}
