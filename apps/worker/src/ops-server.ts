import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

/** The worker's small HTTP surface: probes without auth, metrics behind a bearer token. */
export function createOpsApp(opts: {
  redis: Redis;
  registry: Registry;
  tokens: (string | undefined)[];
  isReady: () => boolean;
}): Hono {
  const app = new Hono();
  const tokens = opts.tokens.filter((t): t is string => Boolean(t)).map((t) => Buffer.from(t));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (!opts.isReady()) return c.json({ status: 'not_ready' }, 503);
    try {
      await opts.redis.ping();
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'redis_unreachable' }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '');
    if (!tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
      const message = tokens.length
        ? 'The metrics endpoint needs "Authorization: Bearer <METRICS_TOKEN or ADMIN_TOKEN>".'
        : 'The metrics endpoint is disabled: set METRICS_TOKEN or ADMIN_TOKEN.';
      return c.json(
        { error: { message, type: 'authentication_error', param: null, code: 'invalid_api_key' } },
        401,
      );
    }
    c.header('Content-Type', opts.registry.contentType);
    return c.body(await opts.registry.metrics());
  });
  return app;
}
