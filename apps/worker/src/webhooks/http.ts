import http from 'node:http';
import https from 'node:https';
import { assertConnectTarget, createGuardedLookup } from '@sluice/core';

export interface PostResult {
  statusCode: number | null;
  headers: http.IncomingHttpHeaders;
  latencyMs: number;
  error: string | null;
}

/** Most of a receiver's answer we read (the rest is discarded): only the status code matters. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs one webhook. node:http rather than fetch: it never follows redirects, and its `lookup` hook
 * lets the SSRF guard check the address actually connected to (DNS rebinding), not just the name.
 */
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<PostResult> {
  const started = performance.now();
  const done = (
    statusCode: number | null,
    h: http.IncomingHttpHeaders,
    error: string | null,
  ): PostResult => ({
    statusCode,
    headers: h,
    latencyMs: Math.round(performance.now() - started),
    error,
  });
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
      assertConnectTarget(target, { allowPrivate: opts.allowPrivate });
    } catch (err) {
      resolve(done(null, {}, err instanceof Error ? err.message : String(err)));
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Sluice-Webhooks/1.0',
        },
        lookup: createGuardedLookup({ allowPrivate: opts.allowPrivate }),
        timeout: opts.timeoutMs,
        agent: false,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('end', () => resolve(done(res.statusCode ?? null, res.headers, null)));
        res.on('close', () => resolve(done(res.statusCode ?? null, res.headers, null)));
        res.on('error', () => resolve(done(res.statusCode ?? null, res.headers, null)));
      },
    );
    // The timeout covers the whole attempt, not just socket idleness.
    const deadline = setTimeout(
      () => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(done(null, {}, err.message || err.code || 'request failed')),
    );
    req.on('close', () => clearTimeout(deadline));
    req.end(body);
  });
}
