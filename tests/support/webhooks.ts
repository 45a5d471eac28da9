/**
 * Webhook helpers shared by the end-to-end tests: a system that may deliver to the loopback receiver,
 * endpoint registration, and signature checks.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { type Received, type Receiver, startReceiver } from './receiver.js';
import { type System, type SystemOptions, startSystem, type TestTenant } from './system.js';

/** A webhook endpoint as the API returns it (`secret` only when created or rotated). */
export interface EndpointJson {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  secret?: string;
  disabled_reason: string | null;
}

/** A delivery in an endpoint's log. */
export interface DeliveryJson {
  id: string;
  webhook_id: string;
  event: string;
  status: string;
  attempts: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number | null;
  last_attempt_at: number | null;
  next_retry_at: number | null;
  attempt_log: { at: number; status_code: number | null; error: string | null; latency_ms: number }[];
}

/** Registers an endpoint for `url` (all events unless `extra` says otherwise); it must answer 201. */
export async function registerWebhook(
  tenant: TestTenant,
  url: string,
  extra: Record<string, unknown> = {},
): Promise<EndpointJson & { secret: string }> {
  const res = await tenant.call('/v1/webhooks', { method: 'POST', json: { url, ...extra } });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as EndpointJson & { secret: string };
}

/** The Standard Webhooks headers of a received delivery, as the verifiers take them. */
export const signatureHeaders = (h: IncomingHttpHeaders) => ({
  'webhook-id': String(h['webhook-id']),
  'webhook-timestamp': String(h['webhook-timestamp']),
  'webhook-signature': String(h['webhook-signature']),
});

/** The event a delivery carries; throws unless its signature verifies with `secret`. */
export const verifyDelivery = <T = unknown>(secret: string, received: Received | undefined): T =>
  new Webhook(secret).verify(received?.body ?? '', signatureHeaders(received?.headers ?? {})) as T;

/**
 * A receiver and a system whose API and workers may target it (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true
 * unless `apiEnv` or `workerEnv` says otherwise). Close both with stopWebhookSystem.
 */
export async function startWebhookSystem(
  options: SystemOptions = {},
): Promise<{ sys: System; rx: Receiver }> {
  const rx = await startReceiver();
  const allow = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  try {
    const sys = await startSystem({
      ...options,
      apiEnv: { ...allow, ...options.apiEnv },
      workerEnv: { ...allow, ...options.workerEnv },
    });
    return { sys, rx };
  } catch (err) {
    await rx.close();
    throw err;
  }
}

/** Stops what startWebhookSystem started (either may be missing if it failed part-way). */
export async function stopWebhookSystem(sys: System | undefined, rx: Receiver | undefined) {
  await sys?.close();
  await rx?.close();
}
