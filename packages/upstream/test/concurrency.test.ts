import { redisKeys } from '@sluice/core';
import { type RedisServerHandle, randomPrefix, startRedis } from '@sluice/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitController, readControllerState, type Scope } from '../src/ratelimit/controller.js';
import { parseRateLimitHeaders } from '../src/ratelimit/headers.js';
import { controllerOptions } from './support.js';

// High enough that the sizing below is never clamped.
const options = controllerOptions({ maxConcurrency: 10_000 });

const headers = (remR: number, resetR: string) =>
  parseRateLimitHeaders(
    new Headers({
      // 6,000 RPM: 0.1 requests per ms. The token limit is far away, so requests are what bind.
      'x-ratelimit-limit-requests': '6000',
      'x-ratelimit-remaining-requests': String(remR),
      'x-ratelimit-reset-requests': resetR,
      'x-ratelimit-limit-tokens': '10000000',
      'x-ratelimit-remaining-tokens': '9999900',
      'x-ratelimit-reset-tokens': '1ms',
    }),
  );

describe('RateLimitController sizing and state (real Redis)', () => {
  let server: RedisServerHandle;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  /** The concurrency target after one call that took `latencyMs` and left `remR` requests. */
  async function targetAfter(
    latencyMs: number,
    remR: number,
    resetR: string,
  ): Promise<{ target: number; measuredMs: number }> {
    const keys = redisKeys(randomPrefix('rl'));
    const scope: Scope = { upstreamId: 'primary-test', model: 'm' };
    const controller = new RateLimitController(redis, keys, options);
    const t = 1_000_000;
    const h = headers(remR, resetR);
    const r = await controller.acquire(scope, 100, { holder: 'j1', now: t });
    if (r.kind !== 'granted') throw new Error('expected a grant');
    // The latency is measured from the lease's grant time on the caller's clock.
    const lease = { ...r.lease, grantedAt: Date.now() - latencyMs };
    const { target } = await controller.settle(lease, { kind: 'ok', chargedTokens: 100, headers: h }, t);
    const [state] = await readControllerState(redis, keys, t);
    expect(state?.concurrencyLimit).toBe(target);
    const measuredMs = state?.latencyMs ?? 0;
    // Measured on a real clock: a loaded machine may add a little, never take any away.
    expect(measuredMs).toBeGreaterThanOrEqual(latencyMs);
    expect(measuredMs).toBeLessThan(latencyMs + 100);
    return { target, measuredMs };
  }

  it("follows the measured latency: the same budget at 10x the latency needs ~10x the calls in flight (Little's law)", async () => {
    // Drained bucket: the budget is the sustained rate, 0.1 calls/ms, times 1.5 headroom, plus one.
    const littles = (ms: number) => Math.ceil(0.1 * ms * 1.5) + 1;
    const fast = await targetAfter(100, 0, '10ms');
    const slow = await targetAfter(1_000, 0, '10ms');
    // latencyMs is reported rounded: allow one either way.
    expect(Math.abs(fast.target - littles(fast.measuredMs))).toBeLessThanOrEqual(1);
    expect(Math.abs(slow.target - littles(slow.measuredMs))).toBeLessThanOrEqual(1);
    // About 10x (9.4x when both latencies are measured exactly: 151 vs 16).
    const ratio = slow.target / fast.target;
    const latencyRatio = slow.measuredMs / fast.measuredMs;
    expect(ratio).toBeGreaterThan(0.85 * latencyRatio);
    expect(ratio).toBeLessThanOrEqual(latencyRatio);
    expect(ratio).toBeGreaterThan(6);
  });

  it('follows the remaining budget: a banked budget allows more calls in flight than a drained one', async () => {
    const drained = await targetAfter(100, 0, '10ms');
    // 600 requests banked (reset unknown): spent over the next 2 s on top of the refill,
    // 0.1 + 600/2000 = 0.4 calls/ms, four times the drained rate.
    const banked = await targetAfter(100, 600, '0s');
    const ratio = banked.target / drained.target;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(5);
  });

  it('exposes the current limit, calls in flight, remaining budgets and the fleet pause', async () => {
    const keys = redisKeys(randomPrefix('rl'));
    const scope: Scope = { upstreamId: 'primary-test', model: 'm' };
    const a = new RateLimitController(redis, keys, options);
    // A second controller on another connection stands for another replica.
    const b = new RateLimitController(new Redis(server.url), keys, options);
    const t = 2_000_000;
    const first = await a.acquire(scope, 100, { holder: 'j1', now: t });
    const second = await b.acquire(scope, 100, { holder: 'j2', now: t });
    if (first.kind !== 'granted' || second.kind !== 'granted') throw new Error('expected two grants');
    expect((await readControllerState(redis, keys, t))[0]).toMatchObject({
      inFlight: 2,
      concurrencyLimit: null,
      pausedForMs: 0,
      remaining: { requests: null, tokens: null },
    });

    // j1 answers: 50 requests and 9,999,900 tokens left. j2 is still in flight.
    await a.settle(first.lease, { kind: 'ok', chargedTokens: 100, headers: headers(50, '10s') }, t);
    const afterOk = (await readControllerState(redis, keys, t))[0];
    expect(afterOk?.inFlight).toBe(1);
    expect(afterOk?.concurrencyLimit).toBeGreaterThanOrEqual(1);
    // What the headers said, less the call still in flight (it holds one request and its tokens).
    expect(afterOk?.remaining).toEqual({ requests: 49, tokens: 9_999_800 });

    // j2 meets a 429 asking for 1.5 s: the fleet pauses, j2's reservation comes back.
    await b.settle(second.lease, { kind: 'rate_limited', pauseMs: 1_500, headers: headers(0, '1s') }, t);
    const paused = (await readControllerState(redis, keys, t + 100))[0];
    expect(paused).toMatchObject({ inFlight: 0, pausedForMs: 1_400, rateLimited: 1, granted: 2 });
    // The 429's headers say the request budget is empty; 100 ms at 0.1/ms refills 10.
    expect(paused?.remaining.requests).toBe(10);
    expect(await b.acquire(scope, 100, { holder: 'j3', now: t + 100 })).toMatchObject({
      kind: 'wait',
      reason: 'paused',
      waitMs: 1_400,
    });
    expect((await readControllerState(redis, keys, t + 1_600))[0]?.pausedForMs).toBe(0);
  });
});
