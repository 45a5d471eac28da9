import { describe, expect, it } from 'vitest';
import { drawRandomFault, type FaultRates, planFault } from './fault-plan.js';
import { createRandom } from './prng.js';

const NONE: FaultRates = { errorRate: 0, hangRate: 0, malformedRate: 0, truncatedRate: 0 };

describe('createRandom', () => {
  it('is reproducible from a seed and stays in [0, 1)', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(createRandom(43)()).not.toBe(values[0]);
  });
});

describe('drawRandomFault', () => {
  it('never faults at rate 0 and always at rate 1', () => {
    const random = createRandom(1);
    for (let i = 0; i < 100; i++) expect(drawRandomFault(random, NONE).kind).toBe('answer');
    for (const [rate, kind] of [
      ['hangRate', 'hang'],
      ['malformedRate', 'malformed'],
      ['truncatedRate', 'truncated'],
      ['errorRate', 'error'],
    ] as const) {
      expect(drawRandomFault(random, { ...NONE, [rate]: 1 }).kind).toBe(kind);
    }
  });

  it('hits each fault roughly at its rate', () => {
    const random = createRandom(7);
    const counts: Record<string, number> = {};
    const rates = { errorRate: 0.1, hangRate: 0.05, malformedRate: 0.2, truncatedRate: 0.15 };
    for (let i = 0; i < 20_000; i++) {
      const kind = drawRandomFault(random, rates).kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    expect((counts.error ?? 0) / 20_000).toBeCloseTo(0.1, 1);
    expect((counts.hang ?? 0) / 20_000).toBeCloseTo(0.05, 1);
    expect((counts.malformed ?? 0) / 20_000).toBeCloseTo(0.2, 1);
    expect((counts.truncated ?? 0) / 20_000).toBeCloseTo(0.15, 1);
    expect((counts.answer ?? 0) / 20_000).toBeCloseTo(0.5, 1);
  });
});

describe('planFault', () => {
  const randomError = { kind: 'error', status: 500, source: 'random' } as const;

  it('lets directives win over the random draw', () => {
    expect(planFault({ hang: true }, randomError, 0)).toEqual({ kind: 'hang' });
    expect(planFault({ status: 404, code: 'x' }, randomError, 0)).toMatchObject({
      kind: 'error',
      status: 404,
      code: 'x',
    });
    expect(planFault({ malformed: true }, randomError, 0)).toEqual({ kind: 'malformed' });
    expect(planFault({ latencyMs: 5 }, randomError, 0)).toBe(randomError);
  });

  it('fails the first N calls of a fail directive, then answers deterministically', () => {
    const fail = { fail: { status: 503, times: 2 }, retryAfterMs: 10 };
    expect(planFault(fail, randomError, 0)).toMatchObject({ kind: 'error', status: 503, retryAfterMs: 10 });
    expect(planFault(fail, randomError, 1)).toMatchObject({ kind: 'error', status: 503 });
    expect(planFault(fail, randomError, 2)).toEqual({ kind: 'answer' });
  });
});
