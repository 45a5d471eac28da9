import { ApiError, type Delivery, newId, type WebhookPayload } from '@sluice/core';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { validate } from '../../middleware/json-body.js';
import { loadOwnEndpoint } from './endpoints.js';

const DELIVERY_JOB = { removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } } as const;

/**
 * The worker's retry schedule (WEBHOOK_RETRY_SCHEDULE_MS) decides how many attempts a test event
 * gets: the worker stops at the schedule's end. This is only an upper bound for BullMQ.
 */
const ATTEMPTS = 100;

async function deliveryView(deps: ApiDeps, d: Delivery) {
  return {
    id: d.id,
    object: 'webhook_delivery',
    endpoint_id: d.endpointId,
    webhook_id: d.messageId,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    created_at: Math.floor(d.createdAt / 1000),
    last_attempt_at: d.lastAttemptAt === null ? null : Math.floor(d.lastAttemptAt / 1000),
    next_retry_at: d.nextRetryAt === null || d.status !== 'pending' ? null : Math.floor(d.nextRetryAt / 1000),
    status_code: d.lastStatusCode,
    latency_ms: d.lastLatencyMs,
    error: d.lastError,
    attempt_log: await deps.webhooks.attempts(d.id),
  };
}

/** Test events, the delivery log, and manual redelivery. */
export function registerWebhookDeliveries(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.post('/v1/webhooks/:id/test', async (c) => {
    const endpoint = await loadOwnEndpoint(deps, c);
    const payload: WebhookPayload = {
      type: 'webhook.test',
      timestamp: new Date().toISOString(),
      data: {
        object: 'webhook_test',
        endpoint_id: endpoint.id,
        message: 'This is a test event from Sluice.',
      },
    };
    const { delivery } = await deps.webhooks.createDelivery({
      endpointId: endpoint.id,
      tenantId: endpoint.tenantId,
      messageId: newId('msg'),
      event: 'webhook.test',
      payload: JSON.stringify(payload),
    });
    await deps.webhookQueue.add(
      'deliver',
      { kind: 'deliver', deliveryId: delivery.id },
      { ...DELIVERY_JOB, jobId: `deliver_${delivery.id}`, attempts: ATTEMPTS, backoff: { type: 'webhook' } },
    );
    return c.json(await deliveryView(deps, delivery), 202);
  });

  app.get('/v1/webhooks/:id/deliveries', async (c) => {
    const endpoint = await loadOwnEndpoint(deps, c);
    const { limit } = validate(z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }), {
      limit: c.req.query('limit'),
    });
    const deliveries = await deps.webhooks.recentDeliveries(endpoint.id, limit);
    return c.json({ object: 'list', data: await Promise.all(deliveries.map((d) => deliveryView(deps, d))) });
  });

  app.post('/v1/webhooks/deliveries/:id/retry', async (c) => {
    const id = c.req.param('id');
    const delivery = /^dlv_[0-9a-z_]{1,80}$/.test(id) ? await deps.webhooks.getDelivery(id) : null;
    if (!delivery || delivery.tenantId !== c.get('tenant').id) {
      throw new ApiError('not_found', `No webhook delivery found with id '${id.slice(0, 80)}'.`, 'id');
    }
    const endpoint = await deps.webhooks.get(delivery.endpointId);
    if (!endpoint?.enabled) {
      throw new ApiError(
        'invalid_request',
        'The endpoint is disabled; enable it (PATCH enabled: true) before redelivering.',
        'id',
      );
    }
    await deps.webhooks.resetForRetry(delivery.id);
    // Same delivery, same webhook-id: the receiver can tell it is the same message.
    await deps.webhookQueue.add(
      'deliver',
      { kind: 'deliver', deliveryId: delivery.id },
      { ...DELIVERY_JOB, jobId: `deliver_${delivery.id}_manual_${Date.now()}`, attempts: 1 },
    );
    const fresh = (await deps.webhooks.getDelivery(delivery.id)) ?? delivery;
    return c.json(await deliveryView(deps, fresh), 202);
  });
}
