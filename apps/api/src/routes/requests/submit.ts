import {
  ApiError,
  completionJobOptions,
  effectivePriority,
  jobPriority,
  newId,
  type Priority,
  type RequestRecord,
  submitRequestSchema,
  TERMINAL_STATUSES,
  type Tier,
} from '@sluice/core';
import type { Context, Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { readJson } from '../../middleware/json-body.js';
import { respondWithView, waitForTerminal, waitSeconds } from './view.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * `POST /v1/requests[?wait=N]`: validate, store the record once, enqueue a prioritized job, answer
 * 202 at once; with `wait`, hold up to N seconds and answer 200 if the request finished by then.
 */
export function registerSubmit(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.post('/v1/requests', async (c) => {
    const tenant = c.get('tenant');
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ApiError(
        'invalid_request',
        'Idempotency-Key must be 1-255 printable ASCII characters without spaces.',
        'Idempotency-Key',
      );
    }
    const wait = waitSeconds(deps, c);
    const input = await readJson(c, submitRequestSchema);
    const { priority: requested, metadata, webhook_url: webhookUrl, ...body } = input;
    let webhookEndpointId: string | null = null;
    if (webhookUrl !== undefined) {
      // Only a registered endpoint has a secret to sign with; anything else would be an open relay.
      const endpoint = await deps.webhooks.findByUrl(tenant.id, normalizeUrl(webhookUrl));
      if (!endpoint) {
        throw new ApiError(
          'invalid_request',
          'webhook_url must be the URL of one of your registered webhook endpoints (POST /v1/webhooks first).',
          'webhook_url',
        );
      }
      webhookEndpointId = endpoint.id;
    }
    const priority = effectivePriority(tenant.tier, requested);
    const id = newId('req');
    const unavailable = (detail: string) =>
      new ApiError(
        'service_unavailable',
        `${detail} Retry shortly; send an Idempotency-Key so a retry can never run the request twice.`,
        null,
        { 'Retry-After': '1' },
      );

    // The job goes in first, then the record. A job without a record is never run (the worker waits
    // briefly for its record, then drops it), so if storing the record fails the 503 is true:
    // nothing will run. The reverse order could leave a stored record that a 503 disowned.
    try {
      await enqueue(deps, id, tenant.id, tenant.tier, priority);
    } catch (err) {
      deps.log.error({ err: String(err), requestId: id }, 'enqueue failed');
      throw unavailable('The queue is unavailable; nothing was enqueued.');
    }
    let created: Awaited<ReturnType<typeof deps.requests.create>>;
    try {
      created = await deps.requests.create(
        {
          id,
          tenantId: tenant.id,
          tier: tenant.tier,
          model: body.model,
          priority,
          createdAt: Date.now(),
          metadata: metadata ?? {},
          body,
          webhookEndpointId,
        },
        idempotencyKey,
      );
    } catch (err) {
      deps.log.error({ err: String(err), requestId: id }, 'storing the request failed');
      await deps.queue.remove(id).catch(() => undefined);
      throw unavailable('Storage is unavailable; the request was not accepted.');
    }

    if (!created.created) {
      // An earlier submission owns this key: our job has no record and will never run; drop it now.
      await deps.queue.remove(id).catch(() => undefined);
      if (!created.sameBody) {
        throw new ApiError(
          'idempotency_key_mismatch',
          'This Idempotency-Key was already used with a different request body. Use a new key for a new request.',
          'Idempotency-Key',
        );
      }
      const existing = await deps.requests.get(created.existingId);
      if (!existing) throw new ApiError('not_found', 'The request for this Idempotency-Key has expired.');
      // A replay also repairs a queued request whose job was lost (e.g. Redis lost its last writes).
      if (existing.status === 'queued') {
        await enqueue(deps, existing.id, existing.tenantId, existing.tier, existing.priority);
      }
      c.header('Idempotent-Replayed', 'true');
      c.header('Location', `/v1/requests/${existing.id}`);
      return finalView(deps, c, existing, wait);
    }
    deps.metrics.submitted.inc({ tier: tenant.tier, priority });
    c.header('Location', `/v1/requests/${id}`);
    return finalView(deps, c, created.record, wait);
  });
}

async function finalView(deps: ApiDeps, c: Context<ApiEnv>, record: RequestRecord, wait: number) {
  const latest = await waitForTerminal(deps, record, wait);
  return respondWithView(deps, c, latest, TERMINAL_STATUSES.includes(latest.status) ? 200 : 202);
}

async function enqueue(deps: ApiDeps, id: string, tenantId: string, tier: Tier, priority: Priority) {
  await deps.queue.add(
    'completion',
    { requestId: id, tenantId },
    completionJobOptions(id, jobPriority(tier, priority), { maxAttempts: deps.config.MAX_ATTEMPTS }),
  );
}

/** Registered URLs are stored as the URL parser prints them; compare like with like. */
function normalizeUrl(url: string): string {
  try {
    return new URL(url).toString();
  } catch {
    return url;
  }
}
