import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new signing secret: `whsec_` + base64 of 32 random bytes, as Standard Webhooks and OpenAI expect. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The Standard Webhooks headers for one delivery attempt: the signature covers
 * `${id}.${timestamp}.${body}`, once per active secret (space-separated during a rotation).
 * Signing uses the `standardwebhooks` package, the specification's reference implementation.
 */
export function signWebhook(
  messageId: string,
  timestamp: Date,
  body: string,
  secrets: readonly string[],
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  if (secrets.length === 0) throw new Error('no active signing secret');
  const signature = secrets.map((s) => new Webhook(s).sign(messageId, timestamp, body)).join(' ');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
