import {
  ApiError,
  checkWebhookUrl,
  createWebhookSchema,
  toWebhookView,
  updateWebhookSchema,
  WEBHOOK_EVENTS,
  type WebhookEndpoint,
} from '@sluice/core';
import type { Context, Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { readJson } from '../../middleware/json-body.js';

/** Refuses URLs that are not http(s) or that resolve to internal addresses (SSRF), with a clear 400. */
export async function assertSafeUrl(deps: ApiDeps, url: string): Promise<string> {
  const check = await checkWebhookUrl(url, { allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS });
  if (!check.ok) throw new ApiError('invalid_request', check.message, 'url');
  return check.url.toString();
}

/** Loads one of the calling tenant's endpoints; another tenant's id answers 404. */
export async function loadOwnEndpoint(deps: ApiDeps, c: Context<ApiEnv>): Promise<WebhookEndpoint> {
  const id = c.req.param('id') ?? '';
  const endpoint = /^wh_[0-9a-z]{26}$/.test(id) ? await deps.webhooks.get(id) : null;
  if (!endpoint || endpoint.tenantId !== c.get('tenant').id) {
    throw new ApiError('not_found', `No webhook endpoint found with id '${id.slice(0, 64)}'.`, 'id');
  }
  return endpoint;
}

/** Most endpoints one tenant may register. */
const MAX_ENDPOINTS = 20;

/** Registration and management: `/v1/webhooks` and `/v1/webhooks/{id}`. */
export function registerWebhookEndpoints(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.post('/v1/webhooks', async (c) => {
    const tenant = c.get('tenant');
    const input = await readJson(c, createWebhookSchema);
    const url = await assertSafeUrl(deps, input.url);
    const existing = await deps.webhooks.list(tenant.id);
    if (existing.length >= MAX_ENDPOINTS) {
      throw new ApiError(
        'invalid_request',
        `A tenant may register at most ${MAX_ENDPOINTS} webhook endpoints.`,
      );
    }
    if (existing.some((e) => e.url === url)) {
      throw new ApiError('invalid_request', `A webhook endpoint with this URL already exists.`, 'url');
    }
    const { endpoint, secret } = await deps.webhooks.create(tenant.id, {
      url,
      events: input.events ?? [...WEBHOOK_EVENTS],
      description: input.description,
    });
    deps.log.info({ tenantId: tenant.id, endpointId: endpoint.id }, 'webhook endpoint registered');
    return c.json({ ...toWebhookView(endpoint), secret }, 201);
  });

  app.get('/v1/webhooks', async (c) => {
    const endpoints = await deps.webhooks.list(c.get('tenant').id);
    return c.json({ object: 'list', data: endpoints.map(toWebhookView) });
  });

  app.get('/v1/webhooks/:id', async (c) => c.json(toWebhookView(await loadOwnEndpoint(deps, c))));

  app.patch('/v1/webhooks/:id', async (c) => {
    const endpoint = await loadOwnEndpoint(deps, c);
    const patch = await readJson(c, updateWebhookSchema);
    const url = patch.url === undefined ? undefined : await assertSafeUrl(deps, patch.url);
    await deps.webhooks.update(endpoint.id, {
      ...(url !== undefined && { url }),
      ...(patch.events !== undefined && { events: patch.events }),
      ...(patch.enabled !== undefined && { enabled: patch.enabled }),
      ...(patch.description !== undefined && { description: patch.description }),
    });
    return c.json(toWebhookView((await deps.webhooks.get(endpoint.id)) ?? endpoint));
  });

  app.delete('/v1/webhooks/:id', async (c) => {
    const endpoint = await loadOwnEndpoint(deps, c);
    await deps.webhooks.delete(endpoint);
    return c.json({ id: endpoint.id, object: 'webhook_endpoint', deleted: true });
  });

  app.post('/v1/webhooks/:id/rotate-secret', async (c) => {
    const endpoint = await loadOwnEndpoint(deps, c);
    const secret = await deps.webhooks.rotateSecret(endpoint, deps.config.WEBHOOK_SECRET_GRACE_SECONDS);
    const graceEnds = Math.floor(Date.now() / 1000) + deps.config.WEBHOOK_SECRET_GRACE_SECONDS;
    return c.json({ ...toWebhookView(endpoint), secret, previous_secrets_expire_at: graceEnds });
  });
}
