import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** 10 base32 chars of milliseconds: ids sort by creation time until the year 10889. */
function encodeTime(ms: number): string {
  let out = '';
  let n = ms;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return out;
}

function encodeRandom(chars: number): string {
  const bytes = randomBytes(chars);
  let out = '';
  for (const b of bytes) out += CROCKFORD[b % 32];
  return out;
}

export type IdPrefix = 'req' | 'ten' | 'key' | 'wh' | 'msg' | 'dlv' | 'batch' | 'file' | 'batch_req';

/** A prefixed, time-sortable id, e.g. `req_01jd3k…`. Safe as a BullMQ job id (no `:`). */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${encodeRandom(16)}`;
}

/** A file id in OpenAI's spelling, `file-…` (time-sortable like every other id). */
export function newFileId(now = Date.now()): string {
  return newId('file', now).replace('file_', 'file-');
}

/** True when `id` looks like an id made by {@link newId} with this prefix. */
export function isId(prefix: IdPrefix, id: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-z]{26}$`).test(id);
}

/** A secret of `bytes` random bytes in base64url, for API keys and tokens. */
export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
