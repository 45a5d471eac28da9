import { describe, expect, it } from 'vitest';
import { parseDirectives, stripDirectives } from './directives.js';

describe('parseDirectives', () => {
  it('reads every supported directive', () => {
    const text =
      'q [sim:status=503] [sim:retry-after-ms=1500] [sim:code=server_is_overloaded] [sim:fail=429x3] ' +
      '[sim:latency=2000] [sim:hang] [sim:malformed] [sim:truncated]';
    expect(parseDirectives(text)).toEqual({
      ok: true,
      directives: {
        status: 503,
        retryAfterMs: 1500,
        code: 'server_is_overloaded',
        fail: { status: 429, times: 3 },
        latencyMs: 2000,
        hang: true,
        malformed: true,
        truncated: true,
      },
    });
  });

  it('defaults fail=N to status 500 and is case-insensitive in names', () => {
    expect(parseDirectives('[SIM:Fail=2]')).toEqual({
      ok: true,
      directives: { fail: { status: 500, times: 2 } },
    });
  });

  it('finds nothing in plain text, including look-alikes', () => {
    expect(parseDirectives('hello [simulation] [sim] sim:status=500')).toEqual({ ok: true, directives: {} });
  });

  it.each([
    ['[sim:status=600]', 'status must be an integer from 400 to 599'],
    ['[sim:status=]', 'status must be'],
    ['[sim:fail=503x0]', 'fail must look like'],
    ['[sim:latency=-1]', 'latency must be'],
    ['[sim:code=not valid]', 'code must be'],
    ['[sim:malformed=yes]', 'malformed takes no value'],
    ['[sim:teleport]', 'unknown directive'],
  ])('rejects %s', (text, message) => {
    const result = parseDirectives(`x ${text}`);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(`Invalid simulator directive ${text}: ${message}`);
  });
});

describe('stripDirectives', () => {
  it('removes directives and the blanks before them', () => {
    expect(stripDirectives('hello [sim:latency=5] world [sim:hang]')).toBe('hello world');
    expect(stripDirectives('[sim:status=500]')).toBe('');
    expect(stripDirectives('keep [this] text')).toBe('keep [this] text');
  });
});
