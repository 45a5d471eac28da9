import type { RequestError, RequestView } from './types.js';

/** Base class of every error the client throws (an `AbortSignal`'s own reason is rethrown as is). */
export class SluiceError extends Error {
  override name = 'SluiceError';
}

/** The API answered with a non-2xx status; the fields come from its `{"error": {...}}` body. */
export class SluiceApiError extends SluiceError {
  override name = 'SluiceApiError';
  /** HTTP status. */
  readonly status: number;
  /** Stable error code, e.g. `invalid_request`, `invalid_api_key`, `request_not_cancellable`. */
  readonly code: string | null;
  /** OpenAI-style error type, e.g. `invalid_request_error`. */
  readonly type: string | null;
  /** The offending field or header, e.g. `messages.0.role` or `Idempotency-Key`. */
  readonly param: string | null;
  /** The server's `x-request-id`, to quote when reporting a problem. */
  readonly requestId: string | null;
  /** The server's `Retry-After`, in seconds, when it sent one (e.g. on 503). */
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    status: number;
    message: string;
    code: string | null;
    type: string | null;
    param: string | null;
    requestId: string | null;
    retryAfterSeconds: number | null;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.type = init.type;
    this.param = init.param;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The API could not be reached, or one HTTP call outlasted the client's `timeoutMs`. */
export class SluiceConnectionError extends SluiceError {
  override name = 'SluiceConnectionError';
}

/**
 * `waitFor` or `complete` gave up before the request finished. The request itself keeps running:
 * poll it again later, or `cancel(error.view.id)` if it is still queued.
 */
export class SluiceTimeoutError extends SluiceError {
  override name = 'SluiceTimeoutError';
  constructor(
    /** The last state seen. */
    readonly view: RequestView,
    timeoutMs: number,
  ) {
    super(`Request ${view.id} is still ${view.status} after ${timeoutMs} ms.`);
  }
}

/** `complete` found the request failed or cancelled. */
export class SluiceRequestFailedError extends SluiceError {
  override name = 'SluiceRequestFailedError';
  /** The request's stored error; null for a request cancelled by a client. */
  readonly error: RequestError | null;
  constructor(
    /** The request in its final state. */
    readonly view: RequestView,
  ) {
    super(
      view.error
        ? `Request ${view.id} ${view.status}: ${view.error.code}: ${view.error.message}`
        : `Request ${view.id} was ${view.status}.`,
    );
    this.error = view.error;
  }
}
