import { randomBytes } from 'node:crypto';

/** Hex id that sorts by creation time: 12 hex digits of epoch ms, then 12 random hex digits. */
function sortableHex(): string {
  return Date.now().toString(16).padStart(12, '0') + randomBytes(6).toString('hex');
}

/** `x-request-id` value, shaped like OpenAI's `req_<hex>`. */
export function newRequestId(): string {
  return `req_${sortableHex()}`;
}

/** Chat completion id, shaped like OpenAI's `chatcmpl-…`. */
export function newCompletionId(): string {
  return `chatcmpl-${sortableHex()}`;
}
