import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { newRequestId } from '../ids.js';
import { openAIError } from '../openai/errors.js';
import type { SimState } from '../state.js';
import { isAlreadySent, type SimEnv, setHeader } from './context.js';

/**
 * Gives every request an `x-request-id`, the OpenAI response headers, an `openai-processing-ms` measured
 * at the end, and counts /v1 traffic (requests, in flight) for stats. Logs method, path and status only.
 */
export function requestContext(state: SimState): MiddlewareHandler<SimEnv> {
  return async (c, next) => {
    const info = { requestId: newRequestId(), startedAt: Date.now(), headers: {} };
    c.set('info', info);
    setHeader(c, 'x-request-id', info.requestId);
    setHeader(c, 'openai-organization', 'org-sim');
    setHeader(c, 'openai-version', '2020-10-01');
    const counted = c.req.path.startsWith('/v1/');
    if (counted) state.stats.requestStarted();
    let status: number | null = null;
    try {
      await next();
      const sentRaw = isAlreadySent(c.res);
      status = sentRaw ? (c.get('info').rawStatus ?? null) : c.res.status;
      if (!sentRaw) c.res.headers.set('openai-processing-ms', String(Date.now() - info.startedAt));
    } finally {
      if (counted) state.stats.requestFinished(status);
      state.logger.debug(
        {
          requestId: info.requestId,
          method: c.req.method,
          path: c.req.path,
          status,
          ms: Date.now() - info.startedAt,
        },
        'request',
      );
    }
  };
}

/** Rejects bodies over `maxBodyBytes` with OpenAI's error shape instead of buffering them. */
export function limitBody(state: SimState): MiddlewareHandler<SimEnv> {
  return bodyLimit({
    maxSize: state.maxBodyBytes,
    onError: (c) => {
      state.stats.rejected();
      return c.json(
        openAIError(
          `Request body too large: the limit is ${state.maxBodyBytes} bytes.`,
          'invalid_request_error',
        ),
        413,
      );
    },
  });
}

const BEARER = /^Bearer\s+(\S.*)$/i;

/** Requires `Authorization: Bearer <token>` (and that it equals the configured key, if any). */
export function requireBearer(state: SimState): MiddlewareHandler<SimEnv> {
  return async (c, next) => {
    const token = BEARER.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    if (!token) {
      state.stats.rejected();
      return c.json(
        openAIError(
          "You didn't provide an API key. You need to provide your API key in an Authorization header using " +
            'Bearer auth (i.e. Authorization: Bearer YOUR_KEY).',
          'invalid_request_error',
        ),
        401,
      );
    }
    if (state.apiKey !== undefined && token !== state.apiKey) {
      state.stats.rejected();
      return c.json(
        openAIError(
          `Incorrect API key provided: ${maskKey(token)}.`,
          'invalid_request_error',
          'invalid_api_key',
        ),
        401,
      );
    }
    c.get('info').apiKey = token;
    await next();
  };
}

/** Shows only the ends of a key, like OpenAI does, so a wrong key is recognisable without being echoed. */
function maskKey(key: string): string {
  return key.length <= 8 ? '********' : `${key.slice(0, 3)}********${key.slice(-4)}`;
}
