import type { RequestError } from '@sluice/core';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { parseRetryAfterMs } from './retry-after.js';

/**
 * What to do about a failed upstream call:
 * - `retry`: 408, 409, 429, 5xx, timeouts, connection errors, malformed bodies; maybe after `retryAfterMs`.
 * - `fail`: any other upstream 4xx; retrying cannot help, so the request fails with the upstream's error.
 * - `aborted`: we aborted the call ourselves (shutdown or cancellation); not the upstream's fault.
 */
export type Classified =
  | { kind: 'retry'; reason: RetryReason; error: RequestError; retryAfterMs: number | null }
  | { kind: 'fail'; error: RequestError }
  | { kind: 'aborted' };

export type RetryReason = 'rate_limited' | 'server_error' | 'timeout' | 'connection' | 'invalid_response';

const RETRYABLE_4XX = new Set([408, 409, 429]);

export function classifyUpstreamError(err: unknown): Classified {
  if (err instanceof APIUserAbortError) return { kind: 'aborted' };
  if (err instanceof APIConnectionTimeoutError) {
    return retry('timeout', 'upstream_timeout', 'The upstream did not answer within the attempt timeout.');
  }
  if (err instanceof APIConnectionError) {
    return retry('connection', 'upstream_connection_error', 'Could not connect to the upstream.');
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const body = (err.error ?? {}) as { message?: unknown; code?: unknown };
    const message = typeof body.message === 'string' ? body.message : err.message;
    const upstreamCode = typeof body.code === 'string' ? body.code : (err.code ?? null);
    const status = err.status;
    if (status === 429 || status >= 500 || RETRYABLE_4XX.has(status)) {
      // A 429 that says it can never succeed (request larger than the limit) is not worth retrying.
      if (status === 429 && err.headers?.get('x-should-retry') === 'false') {
        return {
          kind: 'fail',
          error: { code: 'upstream_rejected', message, upstream_status: status, upstream_code: upstreamCode },
        };
      }
      return {
        kind: 'retry',
        reason: status === 429 ? 'rate_limited' : 'server_error',
        retryAfterMs: parseRetryAfterMs(err.headers),
        error: {
          code: status === 429 ? 'upstream_rate_limited' : 'upstream_server_error',
          message,
          upstream_status: status,
          upstream_code: upstreamCode,
        },
      };
    }
    return {
      kind: 'fail',
      error: { code: 'upstream_rejected', message, upstream_status: status, upstream_code: upstreamCode },
    };
  }
  // Anything else thrown while reading the answer: invalid JSON, a body cut off mid-way.
  return retry(
    'invalid_response',
    'upstream_invalid_response',
    'The upstream answered with a malformed or truncated body.',
  );
}

function retry(reason: RetryReason, code: string, message: string): Classified {
  return { kind: 'retry', reason, retryAfterMs: null, error: { code, message } };
}
