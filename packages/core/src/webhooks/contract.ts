import { z } from 'zod';

/** Events a webhook endpoint can subscribe to. Batch events fire once batches exist. */
export const WEBHOOK_EVENTS = [
  'request.completed',
  'request.failed',
  'request.cancelled',
  'batch.completed',
  'batch.failed',
  'batch.expired',
  'batch.cancelled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number] | 'webhook.test';

const url = z.string().min(1).max(2048);
const events = z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length);

/** `POST /v1/webhooks`. */
export const createWebhookSchema = z
  .object({
    url,
    /** Default: every event. */
    events: events.optional(),
    description: z.string().max(512).optional(),
  })
  .strict();

/** `PATCH /v1/webhooks/{id}`. */
export const updateWebhookSchema = z
  .object({
    url: url.optional(),
    events: events.optional(),
    enabled: z.boolean().optional(),
    description: z.string().max(512).optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one of url, events, enabled, description');

/** What a webhook endpoint looks like to its tenant (never the secret, except when issued). */
export interface WebhookEndpointView {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  events: string[];
  enabled: boolean;
  description: string | null;
  created_at: number;
  /** Why the endpoint was disabled: `gone` (it answered 410), `failing` (5 days of failures), `manual`. */
  disabled_reason: string | null;
  /** Since when every delivery attempt has failed (unix seconds), or null. */
  failing_since: number | null;
}

/** The body of every delivery: `data` is what polling returns for the request (or batch). */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: unknown;
}
