import type { Hono } from 'hono';
import { openAIError } from '../openai/errors.js';
import type { SimState } from '../state.js';
import type { SimEnv } from './context.js';

// A fixed date keeps the listing deterministic.
const CREATED_SECONDS = 1_700_000_000;

function modelObject(id: string) {
  return { id, object: 'model', created: CREATED_SECONDS, owned_by: 'sluice-sim' };
}

/** `GET /v1/models` and `GET /v1/models/:id`. Completions accept any model name; this list is informational. */
export function registerModels(app: Hono<SimEnv>, state: SimState): void {
  app.get('/v1/models', (c) => c.json({ object: 'list', data: state.models.map(modelObject) }));
  app.get('/v1/models/:id', (c) => {
    const id = c.req.param('id');
    if (!state.models.includes(id)) {
      return c.json(
        openAIError(`The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model'),
        404,
      );
    }
    return c.json(modelObject(id));
  });
}
