import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('starts full with capacity = limit for a one-minute window', () => {
    const bucket = new TokenBucket(60, 60_000, 0);
    expect(bucket.capacity).toBe(60);
    expect(bucket.available(0)).toBe(60);
    expect(bucket.resetMs(0)).toBe(0);
  });

  it('refills continuously at limit / 60000 per ms', () => {
    const bucket = new TokenBucket(60, 60_000, 0);
    bucket.take(60, 0);
    expect(bucket.available(0)).toBe(0);
    expect(bucket.available(500)).toBeCloseTo(0.5);
    expect(bucket.waitMs(1, 500)).toBeCloseTo(500);
    expect(bucket.available(1_000)).toBeCloseTo(1);
    expect(bucket.resetMs(1_000)).toBeCloseTo(59_000);
    expect(bucket.available(120_000)).toBe(60);
  });

  it('caps bursts to limit * windowMs / 60000 for short windows', () => {
    const bucket = new TokenBucket(600, 1_000, 0);
    expect(bucket.capacity).toBe(10);
    bucket.take(10, 0);
    expect(bucket.waitMs(1, 0)).toBeCloseTo(100);
    expect(bucket.available(10_000)).toBe(10);
  });

  it('reports Infinity for a cost larger than the capacity', () => {
    const bucket = new TokenBucket(1_000, 60_000, 0);
    expect(bucket.waitMs(1_001, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(bucket.waitMs(1_000, 0)).toBe(0);
  });

  it('honours a minimum capacity so one request always fits', () => {
    const bucket = new TokenBucket(30, 1_000, 0, 1);
    expect(bucket.capacity).toBe(1);
    expect(bucket.waitMs(1, 0)).toBe(0);
  });

  it('ignores a clock that goes backwards', () => {
    const bucket = new TokenBucket(60, 60_000, 1_000);
    bucket.take(10, 1_000);
    expect(bucket.available(0)).toBe(50);
  });
});
