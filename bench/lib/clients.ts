/**
 * The two clients under test, timing each request from the moment it is sent until its outcome is known:
 * Sluice (submit, then long polls) and the tutorial-style baseline (the openai SDK straight at the upstream).
 */
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { MAX_TOKENS, MODEL, PRIORITY_OF, PROMPT, type Tier, UPSTREAM_API_KEY } from './config.js';
import type { Tenant } from './stack.js';

export type OutcomeStatus = 'completed' | 'failed' | 'cancelled' | 'open';

export interface Outcome {
  tier: Tier;
  status: OutcomeStatus;
  /** performance.now() when the request was sent. */
  sentAt: number;
  /** Send → 202 (Sluice only), ms. */
  ackMs?: number;
  /** Send → terminal outcome known to the client, ms. */
  doneMs?: number;
  /** Upstream attempts Sluice made (from the record). */
  attempts?: number;
  /** Why it failed, e.g. `upstream_retries_exhausted:rate_limit_exceeded` or `429 rate_limit_exceeded`. */
  code?: string;
  /** For open requests: the last status seen and the id, to report what got stuck. */
  lastSeen?: string;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Longest `?wait=` a poll asks for (the API allows MAX_WAIT_SECONDS = 30). */
const POLL_WAIT_SECONDS = 25;

interface RequestView {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; upstream_code?: string | null } | null;
}

const chatBody = (tier: Tier) => ({
  model: MODEL,
  messages: [{ role: 'user', content: PROMPT }],
  max_tokens: MAX_TOKENS,
  priority: PRIORITY_OF[tier],
});

function errorCode(body: unknown, status: number): string {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return `http_${status}${typeof code === 'string' ? `:${code}` : ''}`;
}

/** POST /v1/requests; resolves with the id, or with why it was not accepted. */
export async function submit(
  apiUrl: string,
  tenant: Tenant,
  signal: AbortSignal,
): Promise<{ id: string } | { code: string }> {
  try {
    const res = await fetch(`${apiUrl}/v1/requests`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(chatBody(tenant.tier)),
      signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
    });
    const body = (await res.json().catch(() => null)) as RequestView | null;
    if ((res.status !== 202 && res.status !== 200) || !body?.id) return { code: errorCode(body, res.status) };
    return { id: body.id };
  } catch (err) {
    return { code: signal.aborted ? 'aborted' : `submit_${(err as Error).name}` };
  }
}

/** Submits one request to Sluice and long-polls it until it is terminal or `deadline` (performance.now()). */
export async function sluiceRequest(
  apiUrl: string,
  tenant: Tenant,
  deadline: number,
  signal: AbortSignal,
): Promise<Outcome> {
  const sentAt = performance.now();
  const outcome: Outcome = { tier: tenant.tier, status: 'open', sentAt };
  const submitted = await submit(apiUrl, tenant, signal);
  if ('code' in submitted) {
    if (submitted.code === 'aborted') return { ...outcome, lastSeen: 'never accepted (aborted)' };
    return { ...outcome, status: 'failed', code: submitted.code, doneMs: performance.now() - sentAt };
  }
  outcome.ackMs = performance.now() - sentAt;
  let last = 'queued';
  while (!signal.aborted) {
    const left = (deadline - performance.now()) / 1000;
    if (left <= 0) break;
    const wait = Math.max(0, Math.min(POLL_WAIT_SECONDS, Math.floor(left)));
    try {
      const res = await fetch(`${apiUrl}/v1/requests/${submitted.id}?wait=${wait}`, {
        headers: { Authorization: `Bearer ${tenant.key}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout((wait + 15) * 1000)]),
      });
      const view = (await res.json().catch(() => null)) as RequestView | null;
      if (res.status !== 200 || !view) {
        last = errorCode(view, res.status);
        await delay(250);
        continue;
      }
      last = view.status;
      if (TERMINAL.has(view.status)) {
        const code = view.error
          ? `${view.error.code}${view.error.upstream_code ? `:${view.error.upstream_code}` : ''}`
          : undefined;
        return {
          ...outcome,
          status: view.status as OutcomeStatus,
          doneMs: performance.now() - sentAt,
          attempts: view.attempts,
          code,
        };
      }
      if (wait === 0) await delay(100);
    } catch (err) {
      if (signal.aborted) break;
      last = `poll_${(err as Error).name}`;
      await delay(250);
    }
  }
  return { ...outcome, lastSeen: `${submitted.id} ${last}` };
}

/** The tutorial client: one OpenAI client with the SDK's defaults (maxRetries 2, its own backoff). */
export function baselineClient(baseURL: string): OpenAI {
  return new OpenAI({ baseURL, apiKey: UPSTREAM_API_KEY });
}

/** One chat completion through the SDK; `signal` ends it (as open) at the scenario's deadline. */
export async function baselineRequest(client: OpenAI, tier: Tier, signal: AbortSignal): Promise<Outcome> {
  const sentAt = performance.now();
  try {
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS },
      { signal },
    );
    return { tier, status: 'completed', sentAt, doneMs: performance.now() - sentAt };
  } catch (err) {
    if (signal.aborted) return { tier, status: 'open', sentAt, lastSeen: 'SDK call still running' };
    const code =
      err instanceof OpenAI.APIError
        ? `${err.status ?? err.name}${err.code ? ` ${err.code}` : ''}`
        : (err as Error).name;
    return { tier, status: 'failed', sentAt, doneMs: performance.now() - sentAt, code };
  }
}

/**
 * Open-loop arrivals: calls `fire(i)` for i = 0..count-1 at `perSecond`, on schedule whether or not
 * earlier requests have finished. Resolves with every request's promise once the last one is sent.
 */
export async function openLoop<T>(
  count: number,
  perSecond: number,
  fire: (i: number) => Promise<T>,
): Promise<Promise<T>[]> {
  const start = performance.now();
  const started: Promise<T>[] = [];
  while (started.length < count) {
    const elapsed = performance.now() - start;
    const due = Math.min(count, Math.floor((elapsed / 1000) * perSecond) + 1);
    while (started.length < due) started.push(fire(started.length));
    if (started.length < count) {
      const nextAt = (started.length / perSecond) * 1000;
      await delay(Math.max(1, Math.min(20, nextAt - (performance.now() - start))));
    }
  }
  return started;
}

/** Runs `fn(i)` for i = 0..count-1 with at most `concurrency` at once (closed loop, as fast as possible). */
export async function pool<T>(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}
