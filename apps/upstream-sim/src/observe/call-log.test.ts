import { describe, expect, it } from 'vitest';
import { CallLog } from './call-log.js';

const call = (text: string, hash = 'h') => ({
  at: 0,
  endpoint: 'chat.completions' as const,
  model: 'm',
  hash,
  text,
});

describe('CallLog', () => {
  it('filters by text, hash and model and groups by outcome', () => {
    const log = new CallLog();
    log.add(call('alpha one', 'a')).outcome = 'completed';
    log.add(call('alpha two', 'b')).outcome = 'rate_limited';
    log.add(call('beta', 'a'));
    expect(log.query({ contains: 'alpha' })).toEqual({
      count: 2,
      byOutcome: { completed: 1, rate_limited: 1 },
      retained: 3,
      dropped: 0,
    });
    expect(log.query({ hash: 'a' }).count).toBe(2);
    expect(log.query({ hash: 'a', contains: 'beta' }).byOutcome).toEqual({ pending: 1 });
    expect(log.query({ model: 'other' }).count).toBe(0);
  });

  it('drops the oldest calls past maxEntries and maxTotalChars', () => {
    const log = new CallLog({ maxEntries: 3, maxTotalChars: 10, maxTextChars: 4 });
    log.add(call('aaaaaaaa'));
    expect(log.query({ contains: 'aaaaa' }).count).toBe(0);
    expect(log.query({ contains: 'aaaa' }).count).toBe(1);
    for (const text of ['b', 'c', 'd']) log.add(call(text));
    expect(log.query()).toMatchObject({ count: 3, dropped: 1 });
    log.add(call('eeee'));
    log.add(call('ffff'));
    log.add(call('gggg'));
    expect(log.query()).toMatchObject({ count: 2, retained: 2 });
    expect(log.query({ contains: 'gggg' }).count).toBe(1);
  });

  it('stays consistent across many evictions and compactions', () => {
    const log = new CallLog({ maxEntries: 100 });
    for (let i = 0; i < 5_000; i++) log.add(call(`n${i}`));
    expect(log.query()).toMatchObject({ count: 100, retained: 100, dropped: 4_900 });
    expect(log.query({ contains: 'n4999' }).count).toBe(1);
    expect(log.query({ contains: 'n4899' }).count).toBe(0);
    log.clear();
    expect(log.query()).toEqual({ count: 0, byOutcome: {}, retained: 0, dropped: 0 });
  });
});
