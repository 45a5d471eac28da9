import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../context.js';
import { tokenAuth } from '../middleware/auth.js';

/** Probes (no auth, by design: orchestrators call them) and the Prometheus endpoint (token auth). */
export function registerOps(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    if (deps.isShuttingDown()) return c.json({ status: 'shutting_down' }, 503);
    try {
      await deps.redis.ping();
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'redis_unreachable' }, 503);
    }
  });

  app.get(
    '/metrics',
    tokenAuth([deps.config.METRICS_TOKEN, deps.config.ADMIN_TOKEN], 'metrics endpoint'),
    async (c) => {
      c.header('Content-Type', deps.metrics.registry.contentType);
      return c.body(await deps.metrics.registry.metrics());
    },
  );
}
