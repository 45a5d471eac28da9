import {
  SluiceApiError,
  SluiceConnectionError,
  SluiceError,
  SluiceRequestFailedError,
  SluiceTimeoutError,
} from './errors.js';
import type {
  CompletedRequestView,
  ErrorBody,
  RequestStatus,
  RequestView,
  SubmitRequest,
  TerminalStatus,
} from './types.js';

export interface SluiceClientOptions {
  /** The API's origin, e.g. `http://127.0.0.1:8080`; the client appends `/v1/requests…`. */
  baseURL: string;
  /** A tenant API key (`sk-sluice-…`), sent as `Authorization: Bearer`. */
  apiKey: string;
  /** The fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Timeout of one HTTP call in ms, on top of any `wait` the server is asked to hold it. Default 30000. */
  timeoutMs?: number;
  /** Longest `?wait=` in seconds the server accepts (its `MAX_WAIT_SECONDS`). Default 30. */
  maxWaitSeconds?: number;
}

export interface SubmitOptions {
  /** The same key and body within 24 h return the same request instead of enqueueing a new one. */
  idempotencyKey?: string;
  /** Seconds the server may hold the call for the request to finish (200 if it did, else 202). Default 0. */
  wait?: number;
  signal?: AbortSignal;
}

export interface GetOptions {
  /** Seconds the server may hold the call for the request to finish. Default 0 (answer at once). */
  wait?: number;
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** Give up with `SluiceTimeoutError` after this many ms (the request keeps running). Default 600000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CompleteOptions extends WaitOptions {
  /** See `SubmitOptions.idempotencyKey`; makes retrying `complete` after a crash safe. */
  idempotencyKey?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_WAIT_SECONDS = 30;
const DEFAULT_WAIT_TIMEOUT_MS = 600_000;
/** Pause between polls when the server answers early without a `Retry-After`. */
const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** A long poll that returns before this share of its wait was cut short by the server (e.g. a restart). */
const EARLY_ANSWER_RATIO = 0.9;

const TERMINAL: readonly RequestStatus[] = ['completed', 'failed', 'cancelled'];

/** True once a request can no longer change. */
export const isTerminal = (status: RequestStatus): status is TerminalStatus => TERMINAL.includes(status);

interface CallOptions {
  json?: unknown;
  headers?: Record<string, string>;
  /** Seconds the server may hold the call; added to the client's timeout. */
  holdSeconds?: number;
  signal?: AbortSignal | undefined;
}

/** A client of the Sluice API: submit chat completions, wait for them, cancel them. */
export class SluiceClient {
  private readonly baseURL: string;
  private readonly apiKey: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxWaitSeconds: number;

  constructor(options: SluiceClientOptions) {
    if (!options.apiKey) throw new TypeError('SluiceClient: apiKey is required');
    this.baseURL = new URL(options.baseURL).href.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxWaitSeconds = options.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
  }

  /** Enqueues a chat-completions request; answers at once (status `queued`) unless `wait` is given. */
  async submit(body: SubmitRequest, options: SubmitOptions = {}): Promise<RequestView> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey;
    const { data } = await this.call<RequestView>('POST', `/v1/requests${waitQuery(options.wait)}`, {
      json: body,
      headers,
      holdSeconds: options.wait,
      signal: options.signal,
    });
    return data;
  }

  /** The request's current state; with `wait`, held until it finishes or `wait` seconds pass. */
  async get(id: string, options: GetOptions = {}): Promise<RequestView> {
    const { data } = await this.call<RequestView>('GET', `${requestPath(id)}${waitQuery(options.wait)}`, {
      holdSeconds: options.wait,
      signal: options.signal,
    });
    return data;
  }

  /** Cancels a queued request; a request already in progress or finished is a 409 `request_not_cancellable`. */
  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<RequestView> {
    const { data } = await this.call<RequestView>('POST', `${requestPath(id)}/cancel`, {
      signal: options.signal,
    });
    return data;
  }

  /**
   * Long-polls until the request is completed, failed or cancelled and returns it in that state (a failed
   * request is returned, not thrown). Throws `SluiceTimeoutError` after `timeoutMs`.
   */
  async waitFor(id: string, options: WaitOptions = {}): Promise<RequestView> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    return this.pollUntilDone(id, Date.now() + timeoutMs, timeoutMs, options.signal);
  }

  /**
   * Submits and waits: returns the completed request, or throws `SluiceRequestFailedError` if it failed
   * or was cancelled, `SluiceTimeoutError` if it is still running after `timeoutMs`.
   */
  async complete(body: SubmitRequest, options: CompleteOptions = {}): Promise<CompletedRequestView> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const submitted = await this.submit(body, {
      ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
      wait: this.pollSeconds(deadline),
      ...(options.signal && { signal: options.signal }),
    });
    const view = isTerminal(submitted.status)
      ? submitted
      : await this.pollUntilDone(submitted.id, deadline, timeoutMs, options.signal, submitted);
    if (view.status !== 'completed') throw new SluiceRequestFailedError(view);
    return view as CompletedRequestView;
  }

  private async pollUntilDone(
    id: string,
    deadline: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    last?: RequestView,
  ): Promise<RequestView> {
    for (;;) {
      if (last && Date.now() >= deadline) throw new SluiceTimeoutError(last, timeoutMs);
      const wait = this.pollSeconds(deadline);
      const started = Date.now();
      const { data, headers } = await this.call<RequestView>('GET', `${requestPath(id)}${waitQuery(wait)}`, {
        holdSeconds: wait,
        signal,
      });
      if (isTerminal(data.status)) return data;
      last = data;
      // A poll the server held for its whole wait can be repeated at once; one it answered early
      // (a restart releases held polls, or there was no time left to wait) waits for Retry-After.
      if (Date.now() - started < wait * 1000 * EARLY_ANSWER_RATIO || wait === 0) {
        const pauseMs = (parseRetryAfter(headers.get('retry-after')) ?? DEFAULT_RETRY_AFTER_SECONDS) * 1000;
        await sleep(Math.min(pauseMs, Math.max(0, deadline - Date.now())), signal);
      }
    }
  }

  /** The `?wait=` for a poll: as long as the server allows, but never past the deadline (0.1 s steps). */
  private pollSeconds(deadline: number): number {
    const remainingTenths = Math.floor((deadline - Date.now()) / 100);
    return Math.min(this.maxWaitSeconds, Math.max(0, remainingTenths / 10));
  }

  private async call<T>(
    method: string,
    path: string,
    options: CallOptions,
  ): Promise<{ data: T; headers: Headers }> {
    const timeoutMs = this.timeoutMs + (options.holdSeconds ?? 0) * 1000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      Accept: 'application/json',
      ...options.headers,
    };
    if (options.json !== undefined) headers['Content-Type'] = 'application/json';

    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(`${this.baseURL}${path}`, {
        method,
        headers,
        body: options.json === undefined ? null : JSON.stringify(options.json),
        signal,
      });
      text = await res.text();
    } catch (err) {
      // The caller's own abort surfaces as its reason, like fetch does.
      if (options.signal?.aborted) throw options.signal.reason;
      const what = timeout.aborted ? `timed out after ${timeoutMs} ms` : `failed: ${describe(err)}`;
      throw new SluiceConnectionError(`${method} ${path} ${what}`, { cause: err });
    }
    if (!res.ok) throw toApiError(res, text);
    try {
      return { data: JSON.parse(text) as T, headers: res.headers };
    } catch (err) {
      throw new SluiceError(`${method} ${path} answered ${res.status} with a body that is not JSON`, {
        cause: err,
      });
    }
  }
}

const requestPath = (id: string) => `/v1/requests/${encodeURIComponent(id)}`;
const waitQuery = (wait: number | undefined) => (wait !== undefined && wait > 0 ? `?wait=${wait}` : '');

function toApiError(res: Response, text: string): SluiceApiError {
  let error: Partial<ErrorBody['error']> | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ErrorBody> | null;
    if (parsed && typeof parsed.error === 'object' && parsed.error !== null) error = parsed.error;
  } catch {
    // Not our envelope (e.g. a proxy's HTML page): the status and a snippet of the body will do.
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return new SluiceApiError({
    status: res.status,
    message: str(error?.message) ?? `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    code: str(error?.code),
    type: str(error?.type),
    param: str(error?.param),
    requestId: res.headers.get('x-request-id'),
    retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after')),
  });
}

/** `Retry-After` in seconds: either a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, …).
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** setTimeout as a promise that an AbortSignal can cut short (rejecting with its reason). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
