import type { Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { registerFileManagement } from './manage.js';
import { registerUpload } from './upload.js';

export { loadOwnFile } from './manage.js';

/** OpenAI's Files API, tenant-scoped (tenant key auth applies to all of /v1). */
export function registerFiles(app: Hono<ApiEnv>, deps: ApiDeps) {
  registerUpload(app, deps);
  registerFileManagement(app, deps);
}
