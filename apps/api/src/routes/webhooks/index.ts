import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { registerWebhookDeliveries } from './deliveries.js';
import { registerWebhookEndpoints } from './endpoints.js';

/** Webhook endpoints of the calling tenant (tenant key auth applies to all of /v1). */
export function registerWebhooks(app: Hono<ApiEnv>, deps: ApiDeps) {
  // Deliveries first: /v1/webhooks/deliveries/:id/retry must not be read as an endpoint id.
  registerWebhookDeliveries(app, deps);
  registerWebhookEndpoints(app, deps);
}
