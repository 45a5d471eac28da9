import { redisKeys } from '@sluice/core';
import { type RedisServerHandle, randomPrefix, startRedis } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRateLimitHeaders, RateLimitController, readControllerState, type Scope } from '../src/index.js';
import { controllerOptions } from './support.js';

const options = controllerOptions();

/** Headers as the simulator (and OpenAI) send them. */
const headers = (o: {
  limR: number;
  remR: number;
  resetR: string;
  limT: number;
  remT: number;
  resetT: string;
}) =>
  parseRateLimitHeaders(
    new Headers({
      'x-ratelimit-limit-requests': String(o.limR),
      'x-ratelimit-remaining-requests': String(o.remR),
      'x-ratelimit-reset-requests': o.resetR,
      'x-ratelimit-limit-tokens': String(o.limT),
      'x-ratelimit-remaining-tokens': String(o.remT),
      'x-ratelimit-reset-tokens': o.resetT,
    }),
  );
const none = parseRateLimitHeaders(undefined);

describe('RateLimitController (real Redis)', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let keys: ReturnType<typeof redisKeys>;
  let scope: Scope;
  let a: RateLimitController;
  let b: RateLimitController;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });
  beforeEach(() => {
    keys = redisKeys(randomPrefix('rl'));
    scope = { upstreamId: 'primary-test', model: 'm' };
    // Two controllers on one Redis stand for two worker replicas.
    a = new RateLimitController(redis, keys, options);
    b = new RateLimitController(new Redis(server.url), keys, options);
  });

  /** A first call of `tokens`, granted at `t` and answered ok with headers `h` (at `settleAt`). */
  const learn = async (
    tokens: number,
    h: Parameters<typeof headers>[0],
    t: number,
    { holder = 'j1', settleAt = t } = {},
  ) => {
    const first = await a.acquire(scope, tokens, { holder, now: t });
    if (first.kind !== 'granted') throw new Error('expected a grant');
    return a.settle(first.lease, { kind: 'ok', chargedTokens: tokens, headers: headers(h) }, settleAt);
  };

  it('starts with a small probe concurrency until the limits are known', async () => {
    const t = 1_000_000;
    expect((await a.acquire(scope, 10, { holder: 'j1', now: t })).kind).toBe('granted');
    expect((await b.acquire(scope, 10, { holder: 'j2', now: t })).kind).toBe('granted');
    const third = await a.acquire(scope, 10, { holder: 'j3', now: t });
    expect(third).toMatchObject({ kind: 'wait', reason: 'concurrency' });
  });

  it('learns the limits and burst capacity from headers and paces across replicas', async () => {
    const t = 2_000_000;
    // 600 RPM enforced over 1 s: capacity 10; after this call 9 left, full again in 100 ms.
    const settled = await learn(
      100,
      { limR: 600, remR: 9, resetR: '100ms', limT: 600_000, remT: 9_900, resetT: '10ms' },
      t,
      { settleAt: t + 50 },
    );
    expect(settled.target).toBeGreaterThanOrEqual(1);
    const [state] = await readControllerState(redis, keys, t + 50);
    expect(state?.limits).toEqual({ requestsPerMinute: 600, tokensPerMinute: 600_000 });
    expect(state?.capacity.requests).toBe(10);

    // The two replicas share one budget: 9 grants at most, then both are told to wait.
    let granted = 0;
    const waiting: string[] = [];
    for (let i = 0; i < 20; i++) {
      const c = i % 2 === 0 ? a : b;
      const r = await c.acquire(scope, 100, { holder: `k${i}`, now: t + 50 });
      if (r.kind === 'granted') {
        granted++;
        await c.settle(r.lease, { kind: 'ok', chargedTokens: 100, headers: none }, t + 50);
      } else {
        waiting.push(`k${i}`);
        // One request refills every 100 ms at 600 RPM; callers further back are told to wait longer.
        expect(r.kind === 'wait' && ['requests', 'queued'].includes(r.reason)).toBe(true);
      }
    }
    expect(granted).toBe(9);
    // 100 ms later one more request fits, and it goes to the first caller in line, not a newcomer.
    // (Callers that arrived in the same millisecond are ordered by id.)
    const firstInLine = [...waiting].sort()[0];
    expect(await b.acquire(scope, 100, { holder: 'newcomer', now: t + 160 })).toMatchObject({
      reason: 'queued',
    });
    expect((await a.acquire(scope, 100, { holder: firstInLine, now: t + 160 })).kind).toBe('granted');
  });

  it('serves waiting callers in priority order, then arrival', async () => {
    const t = 2_500_000;
    await learn(10, { limR: 60, remR: 0, resetR: '1s', limT: 600_000, remT: 9_990, resetT: '10ms' }, t, {
      holder: 'seed',
    });
    // The budget is empty: a free-tier job (priority 320) waits first, then an enterprise job (100).
    expect(await a.acquire(scope, 10, { holder: 'free', priority: 320, now: t + 10 })).toMatchObject({
      kind: 'wait',
    });
    expect(await b.acquire(scope, 10, { holder: 'vip', priority: 100, now: t + 20 })).toMatchObject({
      kind: 'wait',
    });
    // One request's budget comes back after 1 s: the enterprise job takes it although it came later.
    expect(await a.acquire(scope, 10, { holder: 'free', priority: 320, now: t + 1_010 })).toMatchObject({
      reason: 'queued',
    });
    expect((await b.acquire(scope, 10, { holder: 'vip', priority: 100, now: t + 1_011 })).kind).toBe(
      'granted',
    );
    // A waiter that leaves the line (handed back to the queue) no longer holds anyone up.
    await a.forget(scope, 'free');
    expect((await b.acquire(scope, 10, { holder: 'next', priority: 320, now: t + 2_020 })).kind).toBe(
      'granted',
    );
  });

  it('refuses a call that can never fit the token capacity', async () => {
    const t = 3_000_000;
    await learn(10, { limR: 60, remR: 59, resetR: '1s', limT: 1_000, remT: 990, resetT: '600ms' }, t);
    expect(await a.acquire(scope, 5_000, { holder: 'big', now: t })).toEqual({ kind: 'too_large' });
  });

  it('reserves estimated tokens and settles with the real charge', async () => {
    const t = 4_000_000;
    await learn(10, { limR: 6_000, remR: 5_999, resetR: '10ms', limT: 6_000, remT: 990, resetT: '100ms' }, t);
    // 990 tokens left: a 600-token estimate fits once, not twice.
    const one = await a.acquire(scope, 600, { holder: 'e1', now: t });
    expect(one.kind).toBe('granted');
    expect(await a.acquire(scope, 600, { holder: 'e2', now: t })).toMatchObject({
      kind: 'wait',
      reason: 'tokens',
    });
    // The call really counted 100: 500 tokens come back and the waiting caller fits.
    if (one.kind === 'granted')
      await a.settle(one.lease, { kind: 'ok', chargedTokens: 100, headers: none }, t);
    expect((await a.acquire(scope, 600, { holder: 'e2', now: t })).kind).toBe('granted');
  });

  it('a 429 pauses every replica for the retry-after time', async () => {
    const t = 5_000_000;
    const first = await a.acquire(scope, 10, { holder: 'j1', now: t });
    if (first.kind !== 'granted') throw new Error('expected a grant');
    await a.settle(first.lease, { kind: 'rate_limited', pauseMs: 1_500, headers: none }, t);
    const other = await b.acquire(scope, 10, { holder: 'j2', now: t + 100 });
    expect(other).toMatchObject({ kind: 'wait', reason: 'paused', waitMs: 1_400 });
    expect((await b.acquire(scope, 10, { holder: 'j2', now: t + 1_501 })).kind).toBe('granted');
  });

  it('a lease held by a dead worker is replaced when its job runs again, or lapses', async () => {
    const t = 6_000_000;
    await a.acquire(scope, 10, { holder: 'job-1', now: t });
    await a.acquire(scope, 10, { holder: 'job-2', now: t });
    // Concurrency 2 is used up by two leases whose worker died without settling.
    expect(await b.acquire(scope, 10, { holder: 'job-3', now: t })).toMatchObject({
      kind: 'wait',
      reason: 'concurrency',
    });
    // job-1 runs again on another worker: its old lease does not block it.
    expect((await b.acquire(scope, 10, { holder: 'job-1', now: t })).kind).toBe('granted');
    // After the lease TTL, job-2's lease lapses.
    expect((await b.acquire(scope, 10, { holder: 'job-3', now: t + options.leaseTtlMs + 1 })).kind).toBe(
      'granted',
    );
  });

  it('the breaker opens on consecutive failures, probes once after the cooldown, closes on success', async () => {
    const t = 7_000_000;
    for (let i = 0; i < 3; i++) {
      const r = await a.acquire(scope, 10, { holder: `f${i}`, now: t });
      if (r.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(r)}`);
      await a.settle(r.lease, { kind: 'failure', headers: none }, t);
    }
    expect(await b.acquire(scope, 10, { holder: 'x', now: t + 10 })).toMatchObject({
      kind: 'wait',
      reason: 'breaker_open',
      waitMs: 990,
    });
    const probe = await b.acquire(scope, 10, { holder: 'probe', now: t + 1_001 });
    expect(probe.kind === 'granted' && probe.lease.probe).toBe(true);
    // Only one probe at a time while half-open.
    expect(await a.acquire(scope, 10, { holder: 'y', now: t + 1_002 })).toMatchObject({
      kind: 'wait',
      reason: 'breaker_half_open',
    });
    if (probe.kind === 'granted')
      await b.settle(probe.lease, { kind: 'ok', chargedTokens: 10, headers: none }, t + 1_003);
    expect((await a.acquire(scope, 10, { holder: 'z', now: t + 1_004 })).kind).toBe('granted');
    const [state] = await readControllerState(redis, keys, t + 1_004);
    expect(state?.breaker).toMatchObject({ state: 'closed', opened: 1 });
  });

  it('a failed probe opens the breaker again; an error rate over the window opens it too', async () => {
    const t = 8_000_000;
    const grant = async (c: RateLimitController, id: string, at: number) => {
      const r = await c.acquire(scope, 10, { holder: id, now: at });
      if (r.kind !== 'granted') throw new Error(`expected a grant for ${id}, got ${JSON.stringify(r)}`);
      return r.lease;
    };
    // Alternate ok and failure: never 3 in a row, but 50% of 10 calls.
    for (let i = 0; i < 10; i++) {
      const lease = await grant(a, `r${i}`, t);
      await a.settle(
        lease,
        i % 2 ? { kind: 'failure', headers: none } : { kind: 'ok', chargedTokens: 1, headers: none },
        t,
      );
    }
    expect(await a.acquire(scope, 10, { holder: 'after', now: t })).toMatchObject({
      kind: 'wait',
      reason: 'breaker_open',
    });
    const probe = await grant(b, 'probe', t + 1_001);
    await b.settle(probe, { kind: 'failure', headers: none }, t + 1_002);
    expect(await a.acquire(scope, 10, { holder: 'again', now: t + 1_003 })).toMatchObject({
      kind: 'wait',
      reason: 'breaker_open',
    });
  });

  it('4xx answers and aborts say nothing about health', async () => {
    const t = 9_000_000;
    for (let i = 0; i < 5; i++) {
      const r = await a.acquire(scope, 10, { holder: `n${i}`, now: t });
      if (r.kind !== 'granted') throw new Error('expected a grant');
      await a.settle(r.lease, { kind: 'neutral', headers: none }, t);
    }
    expect((await a.acquire(scope, 10, { holder: 'ok', now: t })).kind).toBe('granted');
  });
});
