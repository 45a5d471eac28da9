import { ApiError } from '@sluice/core';
import type { Context } from 'hono';
import type { ApiDeps, ApiEnv } from '../context.js';

/** ioredis errors that mean "Redis is unreachable right now", not a bug: answer 503 and let clients retry. */
function isRedisUnavailable(err: Error): boolean {
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|Command timed out/.test(err.message)
  );
}

/** The one place errors become responses: ApiErrors answer as they say, anything else is a bare 500. */
export function errorHandler(deps: Pick<ApiDeps, 'log'>) {
  return (err: Error, c: Context<ApiEnv>) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(err.toBody(), err.status as 400);
    }
    const requestId = c.get('requestId');
    if (isRedisUnavailable(err)) {
      deps.log.warn({ err: err.message, requestId }, 'redis unavailable');
      c.header('Retry-After', '1');
      const body = new ApiError(
        'service_unavailable',
        `The service is temporarily unavailable; nothing was changed. Retry shortly (request id ${requestId}).`,
      ).toBody();
      return c.json(body, 503);
    }
    deps.log.error({ err, requestId, route: c.req.routePath }, 'unhandled error');
    const body = new ApiError(
      'internal_error',
      `The server had an error while processing your request (request id ${requestId}).`,
    ).toBody();
    return c.json(body, 500);
  };
}

export const notFound = (c: Context) =>
  c.json(new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`).toBody(), 404);
