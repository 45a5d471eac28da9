import { getFreePort } from '@sluice/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RequestView, SluiceApiError, SluiceClient, SluiceConnectionError } from '../src/index.js';

// In-process checks of the client's pacing against a scripted server (the real one cannot be made to
// answer early on cue); the end-to-end behaviour is in system.test.ts.

const view = (status: RequestView['status']): RequestView => ({
  id: 'req_01jz0000000000000000000000',
  object: 'request',
  status,
  created_at: 1,
  started_at: null,
  completed_at: null,
  model: 'gpt-4o-mini',
  priority: 'normal',
  attempts: 0,
  metadata: {},
  response: null,
  error: null,
  usage: null,
  served_by: null,
});

interface Step {
  /** How long the scripted server holds the call (fake ms). */
  holdMs?: number;
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A fetch that answers each call with the next step and records the URLs asked for. */
function scripted(steps: Step[]) {
  const urls: string[] = [];
  const fetch: typeof globalThis.fetch = async (input) => {
    urls.push(String(input));
    const step = steps.shift();
    if (!step) throw new Error('unexpected call');
    if (step.holdMs) await new Promise((r) => setTimeout(r, step.holdMs));
    const body = typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
    return new Response(body, { status: step.status ?? 200, headers: step.headers });
  };
  return { fetch, urls };
}

describe('waitFor pacing', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('repeats a poll the server held in full at once, and waits Retry-After after an early answer', async () => {
    const server = scripted([
      { holdMs: 30_000, body: view('queued'), headers: { 'Retry-After': '5' } },
      { body: view('in_progress'), headers: { 'Retry-After': '2' } },
      { body: view('completed') },
    ]);
    const client = new SluiceClient({
      baseURL: 'http://sluice.test',
      apiKey: 'sk-test',
      fetch: server.fetch,
    });
    const done = client.waitFor('req_01jz0000000000000000000000', { timeoutMs: 120_000 });

    await vi.advanceTimersByTimeAsync(30_000);
    expect(server.urls).toHaveLength(2); // held in full: no pause before the next poll
    await vi.advanceTimersByTimeAsync(1_999);
    expect(server.urls).toHaveLength(2); // answered early: Retry-After 2 s is honoured
    await vi.advanceTimersByTimeAsync(1);
    expect(server.urls).toHaveLength(3);
    expect((await done).status).toBe('completed');
    expect(server.urls[0]).toBe('http://sluice.test/v1/requests/req_01jz0000000000000000000000?wait=30');
  });

  it('never asks the server to hold a poll past the deadline', async () => {
    const server = scripted([
      { holdMs: 2_500, body: view('queued') },
      { holdMs: 0, body: view('completed') },
    ]);
    const client = new SluiceClient({
      baseURL: 'http://sluice.test/',
      apiKey: 'sk-test',
      fetch: server.fetch,
    });
    const done = client.waitFor('req_01jz0000000000000000000000', { timeoutMs: 4_000 });
    // Answered after 2.5 of 4 s, without Retry-After: the client pauses 1 s, then asks for what is left.
    await vi.advanceTimersByTimeAsync(3_500);
    expect((await done).status).toBe('completed');
    expect(server.urls.map((u) => new URL(u).searchParams.get('wait'))).toEqual(['4', '0.5']);
  });
});

describe('errors without the JSON envelope', () => {
  it('a proxy page becomes a SluiceApiError with the status and a snippet', async () => {
    const { fetch } = scripted([
      {
        status: 502,
        body: '<html>Bad Gateway</html>',
        headers: { 'x-request-id': 'edge-1', 'Retry-After': '3' },
      },
    ]);
    const client = new SluiceClient({ baseURL: 'http://sluice.test', apiKey: 'sk-test', fetch });
    const err = await client.get('req_x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceApiError);
    expect(err).toMatchObject({
      status: 502,
      code: null,
      message: 'HTTP 502: <html>Bad Gateway</html>',
      requestId: 'edge-1',
      retryAfterSeconds: 3,
    });
  });

  it('an unreachable server is a SluiceConnectionError saying why', async () => {
    const client = new SluiceClient({
      baseURL: `http://127.0.0.1:${await getFreePort()}`,
      apiKey: 'sk-test',
    });
    const err = await client.get('req_x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceConnectionError);
    expect((err as Error).message).toMatch(/^GET \/v1\/requests\/req_x failed: fetch failed/);
  });

  it("the caller's abort rejects with the signal's reason", async () => {
    const client = new SluiceClient({ baseURL: 'http://127.0.0.1:9', apiKey: 'sk-test' });
    const controller = new AbortController();
    controller.abort(new Error('user went away'));
    await expect(client.get('req_x', { signal: controller.signal })).rejects.toThrow('user went away');
  });
});
