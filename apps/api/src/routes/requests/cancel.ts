import { ApiError, queueWebhookDispatch } from '@sluice/core';
import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { loadOwnRequest } from './get.js';
import { respondWithView } from './view.js';

/** `POST /v1/requests/{id}/cancel`: a queued request becomes cancelled and its job is removed. */
export function registerCancel(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.post('/v1/requests/:id/cancel', async (c) => {
    const record = await loadOwnRequest(deps, c);
    const result = await deps.requests.cancel(record.id);
    if (result === 'ok') {
      // The record is terminal first, so a worker that grabs the job anyway will skip it.
      await deps.queue
        .remove(record.id)
        .catch((err) => deps.log.warn({ err, id: record.id }, 'job remove failed'));
      await queueWebhookDispatch(deps.webhookQueue, record.id).catch((err) =>
        deps.log.warn(
          { err: String(err), id: record.id },
          'webhook dispatch not queued; the outbox sweep will',
        ),
      );
    } else if (result !== 'cancelled') {
      throw new ApiError(
        'request_not_cancellable',
        result === 'missing'
          ? 'The request no longer exists.'
          : `Only queued requests can be cancelled; this one is ${result}.`,
        'id',
      );
    }
    const now = (await deps.requests.get(record.id)) ?? record;
    return respondWithView(deps, c, now);
  });
}
