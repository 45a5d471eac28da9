import { ApiError, newId } from '@sluice/core';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiDeps, ApiEnv } from './context.js';
import { tenantAuth } from './middleware/auth.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { registerAdmin } from './routes/admin/index.js';
import { registerBatches } from './routes/batches/index.js';
import { registerFiles } from './routes/files/index.js';
import { registerOps } from './routes/health.js';
import { registerRequests } from './routes/requests/index.js';
import { registerWebhooks } from './routes/webhooks/index.js';

/** Builds the HTTP app from its dependencies; main.ts owns the process, tests call app.request(). */
export function createApp(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.use('*', async (c, next) => {
    const requestId = newId('msg').replace('msg_', 'http_');
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    deps.metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    deps.metrics.httpDuration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  });

  const jsonBodyLimit = bodyLimit({
    maxSize: deps.config.MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(
        'payload_too_large',
        `The request body is larger than ${deps.config.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES).`,
      );
    },
  });
  // File uploads stream up to 200 MB with their own limit (routes/files/upload.ts).
  app.use('*', (c, next) =>
    c.req.method === 'POST' && c.req.path === '/v1/files' ? next() : jsonBodyLimit(c, next),
  );

  registerOps(app, deps);
  registerAdmin(app, deps);
  app.use('/v1/*', tenantAuth(deps));
  registerRequests(app, deps);
  registerWebhooks(app, deps);
  registerFiles(app, deps);
  registerBatches(app, deps);

  app.notFound(notFound);
  app.onError(errorHandler(deps));
  return app;
}
