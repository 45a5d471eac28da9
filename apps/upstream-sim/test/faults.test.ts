import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { caught, chatBody, MODEL, postJson, sdk, sleep, startTestSim } from './harness.js';

const ask = (client: OpenAI, content = 'hello') =>
  client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] });

describe('injected faults', () => {
  it('errorRate 1 answers 500 or 503 with OpenAI server_error bodies', async () => {
    const sim = await startTestSim({ errorRate: 1 });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => postJson(sim, '/chat/completions', chatBody(`e${i}`))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 500 || s === 503)).toBe(true);
    expect(statuses).toContain(500);
    expect(statuses).toContain(503);
    for (const response of responses) {
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ type: 'server_error', param: null, code: null });
      if (response.status === 503) expect(response.headers.get('retry-after-ms')).toBe('200');
      expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    }
    expect(sim.stats()).toMatchObject({ requests: 12, errors: 12, completed: 0 });
    expect(await caught(() => ask(sdk(sim)))).toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('faults still consume budget, as upstream would', async () => {
    const sim = await startTestSim({ errorRate: 1, rpm: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await postJson(sim, '/chat/completions', chatBody('x'))).status);
    expect(statuses[2]).toBe(429);
    expect(statuses.slice(0, 2).every((s) => s >= 500)).toBe(true);
  });

  it('hangRate 1 holds the connection until the client gives up', async () => {
    const sim = await startTestSim({ hangRate: 1 });
    const controller = new AbortController();
    const pending = postJson(sim, '/chat/completions', chatBody('x'), { signal: controller.signal });
    await sleep(100);
    expect(sim.stats()).toMatchObject({ hangs: 1, inFlight: 1 });
    controller.abort();
    await expect(pending).rejects.toThrow();
    await sleep(50);
    expect(sim.stats()).toMatchObject({ hangs: 1, inFlight: 0, completed: 0 });
  });

  it('hung requests are released when the simulator closes', async () => {
    const sim = await startTestSim({ hangRate: 1 });
    const pending = ask(sdk(sim)).catch((error: unknown) => error);
    await sleep(100);
    await sim.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('a client timeout on a hung request surfaces as an SDK timeout', async () => {
    const sim = await startTestSim({ hangRate: 1 });
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'k', maxRetries: 0, timeout: 200 });
    expect(await caught(() => ask(client))).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('malformedRate 1 answers 200 application/json with a body that is not JSON', async () => {
    const sim = await startTestSim({ malformedRate: 1 });
    const response = await postJson(sim, '/chat/completions', chatBody('x'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const text = await response.text();
    expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    await expect(ask(sdk(sim))).rejects.toThrow();
    expect(sim.stats()).toMatchObject({ malformed: 2, completed: 0 });
  });

  it('truncatedRate 1 promises a full body, sends half and cuts the connection', async () => {
    const sim = await startTestSim({ truncatedRate: 1 });
    const response = await postJson(sim, '/chat/completions', chatBody('x'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(100);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull();
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    await expect(response.text()).rejects.toThrow();
    await expect(ask(sdk(sim))).rejects.toThrow();
    expect(sim.stats()).toMatchObject({ truncated: 2, completed: 0 });
    expect((await fetch(`${sim.origin}/healthz`)).status).toBe(200);
  });

  it('the same seed gives the same fault sequence; another seed a different one', async () => {
    const run = async (seed: number) => {
      const sim = await startTestSim({ seed, errorRate: 0.3, malformedRate: 0.2 });
      const outcomes: string[] = [];
      for (let i = 0; i < 30; i++) {
        const response = await postJson(sim, '/chat/completions', chatBody(`p${i}`));
        const text = await response.text();
        outcomes.push(response.status === 200 && !isJson(text) ? 'malformed' : String(response.status));
      }
      return outcomes;
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    expect(first).toContain('200');
    expect(first).toContain('malformed');
    expect(first.some((o) => o === '500' || o === '503')).toBe(true);
  });

  it('applies latency plus jitter before answering', async () => {
    const sim = await startTestSim({ latencyMs: 120, latencyJitterMs: 30 });
    const response = await postJson(sim, '/chat/completions', chatBody('x'));
    const processingMs = Number(response.headers.get('openai-processing-ms'));
    expect(processingMs).toBeGreaterThanOrEqual(120);
    expect(processingMs).toBeLessThan(400);
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
