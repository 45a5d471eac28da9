import { describe, expect, it } from 'vitest';
import { SimConfigError, type SimStats } from '../src/index.js';
import { chatBody, postJson, sleep, startTestSim } from './harness.js';

const putConfig = (origin: string, body: unknown) =>
  fetch(`${origin}/_sim/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('/_sim control routes', () => {
  it('GET /_sim/stats counts outcomes, in-flight requests and prompts', async () => {
    const sim = await startTestSim({ rpm: 3, latencyMs: 100 });
    const answered = await Promise.all([
      postJson(sim, '/chat/completions', chatBody('a')),
      postJson(sim, '/chat/completions', chatBody('a')),
      postJson(sim, '/chat/completions', chatBody('b [sim:status=500]')),
      postJson(sim, '/chat/completions', chatBody('c')),
      postJson(sim, '/chat/completions', { model: 'm' }),
    ]);
    expect(answered.map((r) => r.status).sort()).toEqual([200, 200, 400, 429, 500]);

    const stats = (await (await fetch(`${sim.origin}/_sim/stats`)).json()) as SimStats;
    expect(stats).toMatchObject({
      requests: 5,
      completed: 2,
      rateLimited: 1,
      errors: 1,
      rejected: 1,
      hangs: 0,
      malformed: 0,
      truncated: 0,
      inFlight: 0,
      byStatus: { '200': 2, '400': 1, '429': 1, '500': 1 },
    });
    expect(stats.maxInFlight).toBeGreaterThanOrEqual(3);
    expect(Object.values(stats.byPrompt).sort()).toEqual([1, 1, 2]);
    expect(sim.stats()).toEqual(stats);
  });

  it('GET /_sim/calls counts calls whose last user message contains the text', async () => {
    const sim = await startTestSim({ rpm: 1 });
    await postJson(sim, '/chat/completions', chatBody('order 17: summarise'));
    await postJson(sim, '/chat/completions', chatBody('order 17: summarise again'));
    await postJson(sim, '/chat/completions', {
      model: 'm',
      messages: [{ role: 'user', content: 'order 99' }],
      n: 0,
    });

    const query = async (qs: string) => (await fetch(`${sim.origin}/_sim/calls?${qs}`)).json();
    expect(await query('contains=order%2017')).toEqual({
      count: 2,
      byOutcome: { completed: 1, rate_limited: 1 },
      retained: 2,
      dropped: 0,
    });
    // Rejected as invalid: it never reached the model.
    expect(await query('contains=order%2099')).toMatchObject({ count: 0 });
    expect(await query('model=gpt-4o-mini&contains=again')).toMatchObject({ count: 1 });
    expect(sim.calls({ contains: 'summarise' }).count).toBe(2);
  });

  it('keeps the call log bounded', async () => {
    const sim = await startTestSim({ callLog: { maxEntries: 3 } });
    for (let i = 0; i < 5; i++) await postJson(sim, '/chat/completions', chatBody(`call ${i}`));
    expect(sim.calls()).toMatchObject({ count: 3, retained: 3, dropped: 2 });
    expect(sim.calls({ contains: 'call 0' }).count).toBe(0);
    expect(sim.calls({ contains: 'call 4' }).count).toBe(1);
  });

  it('PUT /_sim/config applies a partial update at once', async () => {
    const sim = await startTestSim();
    const response = await putConfig(sim.origin, { rpm: 1, errorRate: 0 });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ rpm: 1, tpm: 0, latencyMs: 0, windowMs: 60_000 });
    expect((await postJson(sim, '/chat/completions', chatBody('x'))).status).toBe(200);
    expect((await postJson(sim, '/chat/completions', chatBody('x'))).status).toBe(429);

    await putConfig(sim.origin, { rpm: null, errorRate: 1 });
    expect((await postJson(sim, '/chat/completions', chatBody('x'))).status).toBeGreaterThanOrEqual(500);
    expect(await (await fetch(`${sim.origin}/_sim/config`)).json()).toMatchObject({ rpm: 0, errorRate: 1 });
  });

  it('PUT /_sim/config rejects bad input with 400 naming the field, changing nothing', async () => {
    const sim = await startTestSim({ rpm: 7 });
    for (const [body, field] of [
      [{ rpm: -1 }, 'rpm'],
      [{ errorRate: 2 }, 'errorRate'],
      [{ latencyMs: 'slow' }, 'latencyMs'],
      [{ windowMs: 0 }, 'windowMs'],
      [{ bogus: 1 }, ''],
      ['{not json', ''],
    ] as const) {
      const response = await putConfig(sim.origin, body);
      expect(response.status).toBe(400);
      const error = (await response.json()) as { error: { message: string; type: string } };
      expect(error.error.type).toBe('invalid_request_error');
      expect(error.error.message).toContain(field);
    }
    expect(sim.config().rpm).toBe(7);
    expect(() => sim.configure({ tpm: -5 })).toThrow(SimConfigError);
    expect(() => sim.configure({ tpm: -5 })).toThrow(/'tpm'/);
  });

  it('POST /_sim/reset zeroes counters, forgets calls and refills buckets', async () => {
    const sim = await startTestSim({ rpm: 1 });
    await postJson(sim, '/chat/completions', chatBody('x'));
    expect((await postJson(sim, '/chat/completions', chatBody('x'))).status).toBe(429);

    const reset = await fetch(`${sim.origin}/_sim/reset`, { method: 'POST' });
    expect(await reset.json()).toEqual({ ok: true });
    expect(sim.stats()).toMatchObject({ requests: 0, completed: 0, rateLimited: 0, byPrompt: {} });
    expect(sim.calls().count).toBe(0);
    expect((await postJson(sim, '/chat/completions', chatBody('x'))).status).toBe(200);
  });

  it('configure() and reset() on the handle behave like the routes', async () => {
    const sim = await startTestSim();
    sim.configure({ latencyMs: 150 });
    const pending = postJson(sim, '/chat/completions', chatBody('x'));
    await sleep(50);
    expect(sim.stats().inFlight).toBe(1);
    expect((await pending).status).toBe(200);
    sim.reset();
    expect(sim.stats()).toMatchObject({ requests: 0, inFlight: 0 });
  });
});
