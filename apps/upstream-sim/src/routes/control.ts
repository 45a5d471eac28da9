import type { Hono } from 'hono';
import { SimConfigError } from '../config.js';
import type { CallFilter } from '../observe/call-log.js';
import { openAIError } from '../openai/errors.js';
import { configureState, resetState, type SimState } from '../state.js';
import type { SimEnv } from './context.js';

/**
 * `/_sim/*`: observe and steer the simulator at run time. These routes have no authentication; that is
 * acceptable only because the simulator binds to 127.0.0.1 by default and is a test tool.
 */
export function registerControl(app: Hono<SimEnv>, state: SimState): void {
  app.get('/_sim/stats', (c) => c.json(state.stats.snapshot()));

  app.post('/_sim/reset', (c) => {
    resetState(state);
    return c.json({ ok: true });
  });

  app.get('/_sim/config', (c) => c.json(state.config));

  app.put('/_sim/config', async (c) => {
    let patch: unknown;
    try {
      patch = JSON.parse(await c.req.text());
    } catch {
      return c.json(openAIError('The body must be a JSON object.', 'invalid_request_error'), 400);
    }
    try {
      return c.json(configureState(state, patch));
    } catch (error) {
      if (error instanceof SimConfigError)
        return c.json(openAIError(error.message, 'invalid_request_error'), 400);
      throw error;
    }
  });

  // `?contains=<text>&hash=<prompt hash>&model=<model>`: how many retained calls match (all given filters).
  app.get('/_sim/calls', (c) => {
    const filter: CallFilter = {};
    const contains = c.req.query('contains');
    const hash = c.req.query('hash');
    const model = c.req.query('model');
    if (contains !== undefined) filter.contains = contains;
    if (hash !== undefined) filter.hash = hash;
    if (model !== undefined) filter.model = model;
    return c.json(state.calls.query(filter));
  });
}
