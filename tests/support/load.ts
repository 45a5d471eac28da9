/**
 * Load helpers for fault tests: submit many uniquely identifiable requests, watch their records in
 * Redis, and check each one's final state through the API and the simulator's call log.
 */
import { redisKeys, TERMINAL_STATUSES } from '@sluice/core';
import { waitFor } from '@sluice/testkit';
import { chatAnswerText } from '@sluice/upstream-sim';
import { Redis } from 'ioredis';
import { chat, type RequestJson, type System, type TestTenant } from './system.js';

export const MODEL = 'gpt-4o-mini';

/** One submission attempt. Only those answered 202 were accepted and are owed a terminal state. */
export interface Submission {
  tenant: TestTenant;
  /** Unique text: `#<n>#` delimiters keep `sim.calls({ contains })` from matching a longer number. */
  text: string;
  /** HTTP status of the submit, or 0 when the call itself failed (connection error). */
  httpStatus: number;
  /** Error code of a non-2xx answer. */
  errorCode: string | null;
  /** Request id when accepted. */
  id: string | null;
  startedAt: number;
  ms: number;
}

/** A unique, directive-free prompt. */
export const promptText = (scenario: string, n: number, tenantName: string) =>
  `${scenario} request #${n}# for ${tenantName}`;

/** The exact answer the simulator gives for `text` sent through {@link chat}. */
export const expectedAnswer = (text: string) => chatAnswerText(MODEL, [{ role: 'user', content: text }]);

/** Submits one request and records what happened, never throwing. */
export async function submitOne(tenant: TestTenant, text: string, timeoutMs = 30_000): Promise<Submission> {
  const startedAt = Date.now();
  const base = { tenant, text, startedAt };
  try {
    const res = await tenant.call('/v1/requests', {
      method: 'POST',
      json: chat(text),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json()) as Partial<RequestJson> & { error?: { code?: string } };
    const accepted = res.status === 202 || res.status === 200;
    return {
      ...base,
      httpStatus: res.status,
      errorCode: accepted ? null : (body.error?.code ?? null),
      id: accepted ? (body.id ?? null) : null,
      ms: Date.now() - startedAt,
    };
  } catch {
    return { ...base, httpStatus: 0, errorCode: 'fetch_failed', id: null, ms: Date.now() - startedAt };
  }
}

/**
 * Runs `count` submissions with at most `concurrency` at once; `pace` ms between starts per lane keeps
 * the load spread over time so a fault can land in the middle of it. `onEach` sees every result.
 */
export async function submitLoad(
  count: number,
  concurrency: number,
  make: (n: number) => { tenant: TestTenant; text: string },
  options: { paceMs?: number; onEach?: (s: Submission, done: number) => void } = {},
): Promise<Submission[]> {
  const results: Submission[] = new Array(count);
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (;;) {
      const n = next++;
      if (n >= count) return;
      const { tenant, text } = make(n);
      const s = await submitOne(tenant, text);
      results[n] = s;
      done++;
      options.onEach?.(s, done);
      if (options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

/** Reads request records straight from Redis (a connection of the test's own). */
export class RecordWatcher {
  readonly redis: Redis;
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(sys: System) {
    // Fail fast while Redis is down so a poll never hangs the test; callers retry.
    this.redis = new Redis(sys.redis.url, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
    this.redis.on('error', () => undefined);
    this.keys = redisKeys(sys.prefix);
  }

  /** Status of each id (`missing` when the record does not exist). */
  async statuses(ids: string[]): Promise<Map<string, string>> {
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.keys.request(id), 'status');
    const replies = (await pipe.exec()) ?? [];
    const out = new Map<string, string>();
    ids.forEach((id, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      out.set(id, (value as string | null) ?? 'missing');
    });
    return out;
  }

  /** How many of `ids` have each status. */
  async census(ids: string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const s of (await this.statuses(ids)).values()) counts[s] = (counts[s] ?? 0) + 1;
    return counts;
  }

  /** Resolves once every id is terminal (missing is not terminal: it would be a lost request). */
  async waitAllTerminal(ids: string[], timeoutMs: number): Promise<void> {
    let last: Record<string, number> = {};
    await waitFor(
      async () => {
        last = await this.census(ids);
        return ids.length === Object.entries(last).reduce((n, [s, c]) => n + (isTerminal(s) ? c : 0), 0);
      },
      { timeoutMs, intervalMs: 200, message: `all ${ids.length} requests terminal` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last census ${JSON.stringify(last)}`);
    });
  }

  /** Request records stored under `prefix` (SCAN, so it is safe on a live Redis). */
  async recordCount(prefix: string): Promise<number> {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}:req:*`, 'COUNT', 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
    return n;
  }

  close(): Promise<unknown> {
    return this.redis.quit().catch(() => this.redis.disconnect());
  }
}

const isTerminal = (s: string) => (TERMINAL_STATUSES as readonly string[]).includes(s);

/** The final view of every accepted request, read through the API (concurrency-limited). */
export async function finalViews(accepted: Submission[], concurrency = 8): Promise<Map<string, RequestJson>> {
  const views = new Map<string, RequestJson>();
  let next = 0;
  const lane = async () => {
    for (;;) {
      const s = accepted[next++];
      if (!s) return;
      const res = await s.tenant.call(`/v1/requests/${s.id}`);
      if (res.status !== 200) throw new Error(`GET ${s.id} answered ${res.status}: ${await res.text()}`);
      views.set(s.id as string, (await res.json()) as RequestJson);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return views;
}

export interface Outcome {
  submission: Submission;
  view: RequestJson;
  /** Calls that reached the simulator for this prompt. */
  calls: number;
  answer: string | null;
}

/** Joins each accepted submission with its final view and its upstream call count. */
export async function outcomes(sys: System, accepted: Submission[]): Promise<Outcome[]> {
  const views = await finalViews(accepted);
  return accepted.map((s) => {
    const view = views.get(s.id as string) as RequestJson;
    return {
      submission: s,
      view,
      calls: sys.sim.calls({ contains: s.text }).count,
      answer: view.response?.choices[0]?.message.content ?? null,
    };
  });
}

/** Counts by a key, for readable assertion messages and logs. */
export function tally<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
