import { describe, expect, it } from 'vitest';
import { effectivePriority, jobPriority, TIER_BAND_START } from './priority.js';

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
});
