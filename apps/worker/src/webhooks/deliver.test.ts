import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../config.js';
import {
  DeliveryFailedError,
  deliveryJobOptions,
  MAX_RETRY_AFTER_MS,
  parseRetryAfterMs,
  retryJitter,
  webhookBackoffMs,
} from './deliver.js';

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;
/** The issue's schedule, written out independently of config.ts's default string. */
const ISSUE_SCHEDULE = [0, 5 * S, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H];
/** The largest value Math.random may return, near enough. */
const ALMOST_ONE = 1 - 1e-12;

describe('worker webhook config defaults', () => {
  it('an empty env gives a 15 s timeout, the issue schedule and disabling after 5 days', () => {
    const c = loadWorkerConfig({});
    expect(c.WEBHOOK_TIMEOUT_MS).toBe(15_000);
    expect(c.WEBHOOK_RETRY_SCHEDULE_MS).toEqual(ISSUE_SCHEDULE);
    expect(c.WEBHOOK_DISABLE_AFTER_MS).toBe(5 * 24 * H);
    expect(c.WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBe(false);
  });

  it('a minimal env (Redis and upstream only) keeps the same defaults', () => {
    const c = loadWorkerConfig({
      REDIS_URL: 'redis://10.0.0.2:6379',
      OPENAI_BASE_URL: 'http://sim:9000/v1',
      OPENAI_API_KEY: 'sk-x',
    });
    expect(c.WEBHOOK_TIMEOUT_MS).toBe(15_000);
    expect(c.WEBHOOK_RETRY_SCHEDULE_MS).toEqual(ISSUE_SCHEDULE);
    expect(c.WEBHOOK_DISABLE_AFTER_MS).toBe(432_000_000);
  });

  it('the schedule is configurable and validated', () => {
    expect(loadWorkerConfig({ WEBHOOK_RETRY_SCHEDULE_MS: '0,100,250' }).WEBHOOK_RETRY_SCHEDULE_MS).toEqual([
      0, 100, 250,
    ]);
    expect(() => loadWorkerConfig({ WEBHOOK_RETRY_SCHEDULE_MS: '0,5s' })).toThrow(
      /WEBHOOK_RETRY_SCHEDULE_MS/,
    );
  });
});

describe('webhook retry schedule', () => {
  const schedule = loadWorkerConfig({}).WEBHOOK_RETRY_SCHEDULE_MS;

  it('one delivery job makes one attempt per schedule entry, the first at once', () => {
    const opts = deliveryJobOptions('deliver_x', schedule);
    expect(opts.attempts).toBe(10);
    expect(opts.delay ?? 0).toBe(0);
    expect(opts.backoff).toEqual({ type: 'webhook' });
  });

  // BullMQ asks for the wait before attempt n+1 (0-based n) with attemptsMade = n.
  it.each(ISSUE_SCHEDULE.slice(1).map((at, i) => [i + 1, at - (ISSUE_SCHEDULE[i] ?? 0)] as const))(
    'the wait before attempt index %i is its gap in the schedule (%i ms) ±10%',
    (n, gap) => {
      expect(webhookBackoffMs(n, schedule, undefined, () => 0.5)).toBe(gap);
      expect(webhookBackoffMs(n, schedule, undefined, () => 0)).toBe(Math.round(gap * 0.9));
      expect(webhookBackoffMs(n, schedule, undefined, () => ALMOST_ONE)).toBe(Math.round(gap * 1.1));
    },
  );

  it('with real jitter every attempt lands within ±10% of its schedule entry, and the waits vary', () => {
    for (let run = 0; run < 200; run++) {
      let at = 0;
      for (let n = 1; n < ISSUE_SCHEDULE.length; n++) {
        at += webhookBackoffMs(n, schedule, undefined);
        const entry = ISSUE_SCHEDULE[n] ?? 0;
        expect(at).toBeGreaterThanOrEqual(Math.floor(entry * 0.9) - n);
        expect(at).toBeLessThanOrEqual(Math.ceil(entry * 1.1) + n);
      }
    }
    const waits = new Set(Array.from({ length: 50 }, () => webhookBackoffMs(2, schedule, undefined)));
    expect(waits.size).toBeGreaterThan(10);
  });

  it('Retry-After is a floor: a longer ask wins over the schedule, a shorter one does not', () => {
    const asked = (ms: number | null) => new DeliveryFailedError('receiver answered 429', ms);
    // Before attempt index 1 the schedule waits 5 s; the receiver asks for 60 s.
    for (const r of [0, 0.5, ALMOST_ONE])
      expect(webhookBackoffMs(1, schedule, asked(60 * S), () => r)).toBe(60 * S);
    // Before attempt index 3 the schedule waits 25 min, longer than the 60 s asked.
    expect(webhookBackoffMs(3, schedule, asked(60 * S), () => 0.5)).toBe(25 * MIN);
    expect(webhookBackoffMs(1, schedule, asked(null), () => 0.5)).toBe(5 * S);
    // Only a DeliveryFailedError carries an ask.
    expect(webhookBackoffMs(1, schedule, new Error('other'), () => 0.5)).toBe(5 * S);
    // An ask beyond a day is capped at a day.
    expect(webhookBackoffMs(1, schedule, asked(365 * 24 * 3_600 * S), () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(24 * 3_600 * S);
  });
});

describe('retryJitter', () => {
  it('is the same for the same job and attempt (so next_retry_at matches the real backoff) and varies otherwise', () => {
    const a = retryJitter('deliver_d1', 3)();
    expect(retryJitter('deliver_d1', 3)()).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => retryJitter(`deliver_d${i}`, 1)()));
    expect(spread.size).toBe(50);
    const values = [...spread];
    expect(Math.min(...values)).toBeLessThan(0.2);
    expect(Math.max(...values)).toBeGreaterThan(0.8);
  });
});

describe('parseRetryAfterMs', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfterMs('2')).toBe(2_000);
    expect(parseRetryAfterMs('120')).toBe(120_000);
    expect(parseRetryAfterMs(['7', '9'])).toBe(7_000);
  });

  it('reads an HTTP date, in the past as 0', () => {
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    const ms = parseRetryAfterMs(inAMinute);
    expect(ms).toBeGreaterThan(58_000);
    expect(ms).toBeLessThanOrEqual(60_000);
    expect(parseRetryAfterMs(new Date(Date.now() - 60_000).toUTCString())).toBe(0);
  });

  it('is null when absent or unreadable', () => {
    expect(parseRetryAfterMs(undefined)).toBeNull();
    expect(parseRetryAfterMs('')).toBeNull();
    expect(parseRetryAfterMs('soon')).toBeNull();
  });
});
