import { ApiError } from '@sluice/core';
import type { Context, Hono } from 'hono';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { respondWithView, waitForTerminal, waitSeconds } from './view.js';

/** Loads a request of the calling tenant; another tenant's id is indistinguishable from a missing one. */
export async function loadOwnRequest(deps: ApiDeps, c: Context<ApiEnv>) {
  const id = c.req.param('id') ?? '';
  const record = /^req_[0-9a-z]{26}$/.test(id) ? await deps.requests.get(id) : null;
  if (!record || record.tenantId !== c.get('tenant').id) {
    throw new ApiError('not_found', `No request found with id '${id.slice(0, 64)}'.`, 'id');
  }
  return record;
}

/** `GET /v1/requests/{id}[?wait=N]`: the record; with `wait`, held until it finishes or N seconds pass. */
export function registerGet(app: Hono<ApiEnv>, deps: ApiDeps) {
  app.get('/v1/requests/:id', async (c) => {
    const wait = waitSeconds(deps, c);
    const record = await waitForTerminal(deps, await loadOwnRequest(deps, c), wait);
    return respondWithView(deps, c, record);
  });
}
