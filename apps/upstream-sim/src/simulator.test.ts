import { describe, expect, it } from 'vitest';
import { SimConfigError } from './config.js';
import { createSimulator } from './simulator.js';

const request = (content: string) =>
  new Request('http://sim/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });

describe('createSimulator in-process', () => {
  it('answers through app.request without a socket', async () => {
    const sim = createSimulator({ latencyMs: 0 });
    const response = await sim.app.request(request('hi'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toMatch(/^Echo: hi \[[0-9a-f]{8}\]$/);
    expect(sim.stats()).toMatchObject({ requests: 1, completed: 1, inFlight: 0 });
  });

  it('returns half a body for truncation when there is no socket to cut', async () => {
    const sim = createSimulator({ latencyMs: 0, truncatedRate: 1 });
    const response = await sim.app.request(request('hi'));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
  });

  it('close() releases hung requests', async () => {
    const sim = createSimulator({ hangRate: 1 });
    const pending = sim.app.request(request('hi'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sim.stats()).toMatchObject({ hangs: 1, inFlight: 1 });
    sim.close();
    expect((await pending).status).toBe(499);
    expect(sim.stats().inFlight).toBe(0);
  });

  it('validates options', () => {
    expect(() => createSimulator({ errorRate: 3 })).toThrow(SimConfigError);
    expect(() => createSimulator({ windowMs: 0 })).toThrow(/'windowMs'/);
    expect(createSimulator({ rpm: 5 }).config()).toMatchObject({ rpm: 5, tpm: 0, latencyMs: 50, seed: 1 });
  });
});
