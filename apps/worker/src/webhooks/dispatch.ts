import { createHash } from 'node:crypto';
import {
  type BatchStore,
  type Logger,
  type RedisKeys,
  type RequestStore,
  TERMINAL_STATUSES,
  toBatchObject,
  toRequestView,
  type WebhookEventType,
  type WebhookJobData,
  type WebhookPayload,
  type WebhookStore,
} from '@sluice/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { deliveryJobOptions } from './deliver.js';

const EVENT_OF_STATUS: Record<string, WebhookEventType> = {
  completed: 'request.completed',
  failed: 'request.failed',
  cancelled: 'request.cancelled',
};

/** The Standard Webhooks message id of an event: stable, so a re-dispatch is the same message. */
export const messageIdOf = (subjectId: string, event: string) =>
  `msg_${createHash('sha256').update(`${subjectId}:${event}`).digest('hex').slice(0, 26)}`;

export interface DispatchDeps {
  redis: Redis;
  keys: RedisKeys;
  requests: RequestStore;
  webhooks: WebhookStore;
  queue: Queue<WebhookJobData>;
  log: Logger;
  schedule: readonly number[];
}

/**
 * Fans a finished request's event out to its endpoints: the one named by `webhook_url` at submit,
 * otherwise every enabled endpoint of the tenant subscribed to the event. One delivery (and one
 * delivery job, with a deterministic id) per endpoint, so running this twice sends nothing twice.
 */
export async function dispatchRequestEvent(deps: DispatchDeps, requestId: string): Promise<number> {
  const { requests, webhooks, queue, redis, keys } = deps;
  const record = await requests.get(requestId);
  // Batch lines have no events of their own: their batch has (batch.completed, …).
  if (!record || !TERMINAL_STATUSES.includes(record.status) || record.batchId) {
    await redis.zrem(keys.webhookOutbox(), requestId);
    return 0;
  }
  const event = EVENT_OF_STATUS[record.status] as WebhookEventType;
  const endpoints = record.webhookEndpointId
    ? [await webhooks.get(record.webhookEndpointId)].filter((e) => e !== null)
    : await webhooks.list(record.tenantId);
  const targets = endpoints.filter(
    (e) => e.enabled && e.tenantId === record.tenantId && e.events.includes(event),
  );
  const messageId = messageIdOf(requestId, event);
  const payload: WebhookPayload = {
    type: event,
    timestamp: new Date(record.completedAt ?? Date.now()).toISOString(),
    data: toRequestView(record),
  };
  const body = JSON.stringify(payload);
  let queued = 0;
  for (const endpoint of targets) {
    const { delivery, created } = await webhooks.createDelivery({
      endpointId: endpoint.id,
      tenantId: record.tenantId,
      messageId,
      event,
      payload: body,
    });
    if (!created && delivery.status !== 'pending') continue;
    await queue.add(
      'deliver',
      { kind: 'deliver', deliveryId: delivery.id },
      deliveryJobOptions(`deliver_${delivery.id}`, deps.schedule),
    );
    queued++;
  }
  await redis.zrem(keys.webhookOutbox(), requestId);
  return queued;
}

const EVENT_OF_BATCH_STATUS: Record<string, WebhookEventType> = {
  completed: 'batch.completed',
  failed: 'batch.failed',
  expired: 'batch.expired',
  cancelled: 'batch.cancelled',
};

/** Fans a finished batch's event out to the tenant's subscribed endpoints; `data` is the Batch object. */
export async function dispatchBatchEvent(
  deps: DispatchDeps & { batches: BatchStore },
  batchId: string,
): Promise<number> {
  const batch = await deps.batches.get(batchId);
  const event = batch ? EVENT_OF_BATCH_STATUS[batch.status] : undefined;
  if (!batch || !event) {
    await deps.redis.zrem(deps.keys.webhookOutbox(), batchId);
    return 0;
  }
  const targets = (await deps.webhooks.list(batch.tenantId)).filter(
    (e) => e.enabled && e.events.includes(event),
  );
  const payload: WebhookPayload = {
    type: event,
    timestamp: new Date().toISOString(),
    data: toBatchObject(batch),
  };
  const body = JSON.stringify(payload);
  let queued = 0;
  for (const endpoint of targets) {
    const { delivery, created } = await deps.webhooks.createDelivery({
      endpointId: endpoint.id,
      tenantId: batch.tenantId,
      messageId: messageIdOf(batchId, event),
      event,
      payload: body,
    });
    if (!created && delivery.status !== 'pending') continue;
    await deps.queue.add(
      'deliver',
      { kind: 'deliver', deliveryId: delivery.id },
      deliveryJobOptions(`deliver_${delivery.id}`, deps.schedule),
    );
    queued++;
  }
  // Every delivery exists and is queued: the outbox entry has done its job.
  await deps.redis.zrem(deps.keys.webhookOutbox(), batchId);
  return queued;
}
