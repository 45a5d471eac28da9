import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyUpstreamError } from './classify.js';
import { parseRetryAfterMs } from './retry-after.js';

const apiError = (status: number, headers: Record<string, string> = {}, code = 'some_code') =>
  APIError.generate(
    status,
    { error: { message: `upstream says ${status}`, code, type: 'x', param: null } },
    undefined,
    new Headers(headers),
  );

describe('classifyUpstreamError', () => {
  it.each([400, 401, 403, 404, 422])('fails a %i at once with the upstream error', (status) => {
    const c = classifyUpstreamError(apiError(status));
    expect(c).toEqual({
      kind: 'fail',
      error: {
        code: 'upstream_rejected',
        message: `upstream says ${status}`,
        upstream_status: status,
        upstream_code: 'some_code',
      },
    });
  });

  it.each([408, 409, 429, 500, 502, 503])('retries a %i', (status) => {
    expect(classifyUpstreamError(apiError(status)).kind).toBe('retry');
  });

  it('carries retry-after-ms from a 429', () => {
    const c = classifyUpstreamError(apiError(429, { 'retry-after-ms': '1500' }));
    expect(c.kind === 'retry' && c.retryAfterMs).toBe(1500);
    expect(c.kind === 'retry' && c.reason).toBe('rate_limited');
  });

  it('does not retry a 429 that says it never will succeed', () => {
    expect(classifyUpstreamError(apiError(429, { 'x-should-retry': 'false' })).kind).toBe('fail');
  });

  it('retries timeouts, connection errors and malformed bodies; recognises our own abort', () => {
    expect(classifyUpstreamError(new APIConnectionTimeoutError()).kind).toBe('retry');
    expect(classifyUpstreamError(new APIConnectionError({ message: 'refused' })).kind).toBe('retry');
    expect(classifyUpstreamError(new SyntaxError('Unexpected token')).kind).toBe('retry');
    expect(classifyUpstreamError(new APIUserAbortError()).kind).toBe('aborted');
  });
});

describe('parseRetryAfterMs', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('prefers retry-after-ms, then retry-after seconds, then an HTTP date', () => {
    expect(parseRetryAfterMs(h({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(parseRetryAfterMs(h({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfterMs(h({ 'retry-after': '0.5' }))).toBe(500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
  });
  it('returns null when absent or garbage', () => {
    expect(parseRetryAfterMs(h({}))).toBeNull();
    expect(parseRetryAfterMs(h({ 'retry-after': 'soon' }))).toBeNull();
    expect(parseRetryAfterMs(undefined)).toBeNull();
  });
});
