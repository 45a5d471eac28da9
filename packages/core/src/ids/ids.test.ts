import { describe, expect, it } from 'vitest';
import { isId, newId } from './index.js';

describe('ids', () => {
  it('are prefixed, BullMQ-safe and sort by creation time', () => {
    const a = newId('req', 1_700_000_000_000);
    const b = newId('req', 1_700_000_000_001);
    expect(a).toMatch(/^req_[0-9a-z]{26}$/);
    expect(a).not.toContain(':');
    expect(a < b).toBe(true);
    expect(isId('req', a)).toBe(true);
    expect(isId('ten', a)).toBe(false);
  });

  it('do not collide', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('req')));
    expect(ids.size).toBe(10_000);
  });
});
