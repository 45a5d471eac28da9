import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { RequestView } from './types.js';

/**
 * Verifying Sluice's webhooks, which follow Standard Webhooks (https://www.standardwebhooks.com):
 * headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature` (a space-separated
 * list of `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), secrets written `whsec_<base64>`.
 */

export type RequestWebhookEventType = 'request.completed' | 'request.failed' | 'request.cancelled';
export type BatchWebhookEventType = 'batch.completed' | 'batch.failed' | 'batch.cancelled' | 'batch.expired';
/** Sent when a test delivery is requested for an endpoint. */
export type TestWebhookEventType = 'webhook.test';
export type WebhookEventType = RequestWebhookEventType | BatchWebhookEventType | TestWebhookEventType;

interface EventOf<T extends WebhookEventType, D> {
  type: T;
  /** When the event happened, ISO 8601 (e.g. `2025-06-01T12:00:00.000Z`). */
  timestamp: string;
  data: D;
}

/** A request finished; `data` is the request as `GET /v1/requests/{id}` would answer it. */
export type RequestWebhookEvent = {
  [T in RequestWebhookEventType]: EventOf<T, RequestView>;
}[RequestWebhookEventType];
/** A batch finished; its `data` shape is not part of this SDK yet. */
export type BatchWebhookEvent = {
  [T in BatchWebhookEventType]: EventOf<T, Record<string, unknown>>;
}[BatchWebhookEventType];
/** A test delivery; its `data` is not meaningful. */
export type TestWebhookEvent = EventOf<TestWebhookEventType, Record<string, unknown>>;
/** Every event Sluice sends; narrow on `type`. */
export type WebhookEvent = RequestWebhookEvent | BatchWebhookEvent | TestWebhookEvent;

/** A webhook whose signature, timestamp or headers do not check out: answer it with a 4xx and drop it. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

export interface VerifyWebhookOptions {
  /** How far the `webhook-timestamp` may be from now, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
}

/** Headers as `fetch` (Hono, Workers), Node's `req.headers` or a plain object of strings give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * Checks a webhook's signature and timestamp and returns its event. `payload` must be the raw body
 * exactly as received (re-serialized JSON will not verify). With several secrets (during a rotation),
 * one matching is enough.
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): WebhookEvent {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new TypeError('verifyWebhook: at least one secret is required');
  // Parse every secret before looking at the message, so a malformed one fails loudly, not as a bad signature.
  const signers = secrets.map((s) => new Webhook(s));

  const id = header(headers, 'webhook-id');
  const timestampHeader = header(headers, 'webhook-timestamp');
  const signatureHeader = header(headers, 'webhook-signature');
  if (!id || !timestampHeader || !signatureHeader) {
    throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header');
  }
  const timestamp = checkTimestamp(timestampHeader, options.toleranceSeconds ?? 300);

  // standardwebhooks' verify() hard-codes a 300 s window; its sign() is the same HMAC without the window,
  // so the window above is ours and the signature is still computed by the library.
  const body = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  const received = signatureHeader
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3)));
  const valid = signers.some((signer) => {
    const expected = Buffer.from(signer.sign(id, timestamp, body).slice(3));
    return received.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
  });
  if (!valid) throw new WebhookVerificationError('No matching signature found');

  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    throw new WebhookVerificationError('The signed payload is not JSON');
  }
  if (!isEvent(event)) throw new WebhookVerificationError('The signed payload is not a webhook event');
  return event;
}

function checkTimestamp(value: string, toleranceSeconds: number): Date {
  if (!/^\d{1,12}$/.test(value)) throw new WebhookVerificationError('Invalid webhook-timestamp header');
  const seconds = Number(value);
  const now = Math.floor(Date.now() / 1000);
  if (now - seconds > toleranceSeconds) throw new WebhookVerificationError('Message timestamp too old');
  if (seconds - now > toleranceSeconds) throw new WebhookVerificationError('Message timestamp too new');
  return new Date(seconds * 1000);
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function isEvent(value: unknown): value is WebhookEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.data === 'object' && v.data !== null;
}
