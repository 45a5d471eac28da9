import { randomBytes } from 'node:crypto';

/**
 * A unique prefix such as `webhooks-m1x2y3-9f8e7d6c` for isolating Redis keys and queue names per test.
 * Only `[A-Za-z0-9_-]`, so it is also a valid BullMQ queue name (which may not contain ':').
 */
export function randomPrefix(label = 'test'): string {
  const safeLabel = label.replace(/[^A-Za-z0-9_-]+/g, '-') || 'test';
  return `${safeLabel}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
