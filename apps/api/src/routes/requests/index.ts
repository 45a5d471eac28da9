import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { registerCancel } from './cancel.js';
import { registerGet } from './get.js';
import { registerSubmit } from './submit.js';

/** The client API under /v1/requests (tenant key auth is applied to all of /v1 in app.ts). */
export function registerRequests(app: Hono<ApiEnv>, deps: ApiDeps) {
  registerSubmit(app, deps);
  registerGet(app, deps);
  registerCancel(app, deps);
}
