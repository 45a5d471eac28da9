import type { Hono } from 'hono';
import type { SimEnv } from './context.js';

/** `GET /healthz`: liveness only; no auth, no rate limits. */
export function registerHealth(app: Hono<SimEnv>): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
}
