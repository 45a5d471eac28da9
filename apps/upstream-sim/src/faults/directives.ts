/**
 * Per-prompt test directives, written in the last user message (or an embedding input) as `[sim:name]` or
 * `[sim:name=value]`. They make one request behave a given way regardless of the random fault rates.
 */
export interface Directives {
  /** `[sim:status=503]`: answer this HTTP status (400-599) with an OpenAI-shaped error. */
  status?: number;
  /** `[sim:retry-after-ms=1500]`: send `retry-after-ms` / `retry-after` with a directed error. */
  retryAfterMs?: number;
  /** `[sim:code=insufficient_quota]`: the `error.code` of a directed error. */
  code?: string;
  /** `[sim:fail=503x2]`: the first `times` calls carrying this exact prompt fail with `status`. */
  fail?: { status: number; times: number };
  /** `[sim:latency=2000]`: answer after this many ms instead of the configured latency. */
  latencyMs?: number;
  /** `[sim:hang]`: never answer. */
  hang?: boolean;
  /** `[sim:malformed]`: 200 with an invalid JSON body. */
  malformed?: boolean;
  /** `[sim:truncated]`: 200 whose body is cut off mid-JSON. */
  truncated?: boolean;
}

export type DirectiveParse = { ok: true; directives: Directives } | { ok: false; message: string };

const DIRECTIVE = /\[sim:([a-z][a-z-]*)(?:=([^\]]*))?\]/gi;
const MAX_LATENCY_MS = 600_000;

/** Reads every `[sim:…]` directive in `text`; an unknown or malformed one is an error, so typos never pass silently. */
export function parseDirectives(text: string): DirectiveParse {
  const directives: Directives = {};
  for (const match of text.matchAll(DIRECTIVE)) {
    const name = (match[1] ?? '').toLowerCase();
    const value = match[2]?.trim();
    const error = apply(directives, name, value);
    if (error) return { ok: false, message: `Invalid simulator directive ${match[0]}: ${error}` };
  }
  return { ok: true, directives };
}

/** `text` without its directives (and the blanks before them), as echoed in answers. */
export function stripDirectives(text: string): string {
  return text.replace(/\s*\[sim:[a-z][a-z-]*(?:=[^\]]*)?\]/gi, '').trim();
}

function apply(directives: Directives, name: string, value: string | undefined): string | undefined {
  switch (name) {
    case 'status': {
      const status = integer(value, 400, 599);
      if (status === undefined) return 'status must be an integer from 400 to 599';
      directives.status = status;
      return;
    }
    case 'retry-after-ms': {
      const ms = integer(value, 0, MAX_LATENCY_MS);
      if (ms === undefined) return `retry-after-ms must be an integer from 0 to ${MAX_LATENCY_MS}`;
      directives.retryAfterMs = ms;
      return;
    }
    case 'code':
      if (!value || !/^[a-z0-9_]+$/i.test(value)) return 'code must be a word like insufficient_quota';
      directives.code = value;
      return;
    case 'fail': {
      // `fail=503x2`, or `fail=2` for two 500s.
      const parts = /^(?:(\d{3})x)?(\d+)$/.exec(value ?? '');
      const status = parts?.[1] === undefined ? 500 : integer(parts[1], 400, 599);
      const times = integer(parts?.[2], 1, 1_000_000);
      if (!parts || status === undefined || times === undefined) return 'fail must look like 503x2 or 2';
      directives.fail = { status, times };
      return;
    }
    case 'latency': {
      const ms = integer(value, 0, MAX_LATENCY_MS);
      if (ms === undefined) return `latency must be an integer from 0 to ${MAX_LATENCY_MS}`;
      directives.latencyMs = ms;
      return;
    }
    case 'hang':
    case 'malformed':
    case 'truncated':
      if (value !== undefined) return `${name} takes no value`;
      directives[name] = true;
      return;
    default:
      return 'unknown directive';
  }
}

function integer(value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}
