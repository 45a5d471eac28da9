import { describe, expect, it } from 'vitest';
import {
  AGED_PRIORITY,
  BATCH_PROMOTED_PRIORITY,
  BATCH_URGENT_PRIORITY,
  batchLinePriority,
  effectivePriority,
  jobPriority,
  retryPriority,
  TIER_BAND_START,
} from './priority.js';

describe('tier and priority → BullMQ priority', () => {
  it('orders every enterprise slot before every pro slot before every free slot, never 0', () => {
    const all = (['enterprise', 'pro', 'free'] as const).flatMap((tier) =>
      (['high', 'normal', 'low'] as const).map((p) => jobPriority(tier, p)),
    );
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(Math.min(...all)).toBeGreaterThan(0);
  });

  it('drops a retried job inside its band but never into the next tier', () => {
    expect(jobPriority('pro', 'high', 1)).toBeGreaterThan(jobPriority('pro', 'high', 0));
    expect(jobPriority('pro', 'low', 100)).toBeLessThan(TIER_BAND_START.free);
    expect(jobPriority('enterprise', 'low', 100)).toBeLessThan(TIER_BAND_START.pro);
  });

  it('caps what a tier may ask for', () => {
    expect(effectivePriority('free', 'high')).toBe('normal');
    expect(effectivePriority('free', 'low')).toBe('low');
    expect(effectivePriority('pro', 'high')).toBe('high');
    expect(effectivePriority('enterprise')).toBe('normal');
  });

  it('a retry drops an ordinary job inside its band but keeps an aged or promoted place', () => {
    const free = { tier: 'free', priority: 'low' } as const;
    // Ordinary: one retry later it is behind where it was.
    expect(retryPriority(free, 1, jobPriority('free', 'low'))).toBe(jobPriority('free', 'low', 1));
    expect(retryPriority(free, 2, jobPriority('free', 'low', 1))).toBe(jobPriority('free', 'low', 2));
    expect(retryPriority(free, 1)).toBe(jobPriority('free', 'low', 1));
    // Aged ahead of every tier: stays there.
    expect(retryPriority(free, 1, AGED_PRIORITY)).toBe(AGED_PRIORITY);
    expect(retryPriority({ tier: 'enterprise', priority: 'high' }, 3, AGED_PRIORITY)).toBe(AGED_PRIORITY);
    // Batch lines: dropped inside the batch band, but a promoted or urgent line stays promoted.
    const line = { tier: 'pro', priority: 'normal', batchId: 'batch_1' } as const;
    expect(retryPriority(line, 1, batchLinePriority())).toBe(batchLinePriority(1));
    expect(retryPriority(line, 1, BATCH_PROMOTED_PRIORITY)).toBe(BATCH_PROMOTED_PRIORITY);
    expect(retryPriority(line, 4, BATCH_URGENT_PRIORITY)).toBe(BATCH_URGENT_PRIORITY);
    // Every raised priority really is ahead of the band it is kept out of.
    expect(AGED_PRIORITY).toBeLessThan(TIER_BAND_START.enterprise);
    expect(BATCH_URGENT_PRIORITY).toBeLessThan(TIER_BAND_START.enterprise);
    expect(BATCH_PROMOTED_PRIORITY).toBeLessThan(TIER_BAND_START.free);
  });
});
