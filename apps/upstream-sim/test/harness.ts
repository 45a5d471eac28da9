import OpenAI from 'openai';
import { afterEach } from 'vitest';
import { type RunningSimulator, type StartOptions, startSimulator } from '../src/index.js';

const running: RunningSimulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

/** Starts a simulator on an ephemeral port with no latency unless asked; closed after each test. */
export async function startTestSim(options: StartOptions = {}): Promise<RunningSimulator> {
  const sim = await startSimulator({ latencyMs: 0, ...options });
  running.push(sim);
  return sim;
}

/** The official SDK pointed at the simulator, without retries so each call is one request. */
export function sdk(sim: RunningSimulator, apiKey = 'k', maxRetries = 0): OpenAI {
  return new OpenAI({ baseURL: sim.url, apiKey, maxRetries });
}

export const MODEL = 'gpt-4o-mini';

/** A minimal chat request for plain fetch calls. */
export function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content }], ...extra };
}

/** POSTs JSON to a /v1 path of the simulator with a bearer token. */
export function postJson(
  sim: RunningSimulator,
  path: string,
  body: unknown,
  init: { apiKey?: string | null; signal?: AbortSignal } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.apiKey !== null) headers.authorization = `Bearer ${init.apiKey ?? 'k'}`;
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  });
}

/** Runs `fn` and returns what it threw, failing the test if it did not throw. */
export async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock for the rate-limit buckets that only moves when told, so budget arithmetic is exact. */
export function manualClock(startMs = 1_000_000) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}
