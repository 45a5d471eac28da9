/**
 * The wait an upstream asks for, in ms: `retry-after-ms` (OpenAI's, non-standard), else
 * `retry-after` as seconds or an HTTP date. Null when absent or unparseable.
 */
export function parseRetryAfterMs(headers: Headers | undefined, now = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const v = Number.parseFloat(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headers.get('retry-after');
  if (ra !== null) {
    const secs = Number.parseFloat(ra);
    if (Number.isFinite(secs) && /^\s*[\d.]+\s*$/.test(ra)) return Math.max(0, secs * 1000);
    const date = Date.parse(ra);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return null;
}
