import { Hono } from 'hono';
import { openAIError } from '../openai/errors.js';
import type { SimState } from '../state.js';
import { registerChatCompletions } from './chat-completions.js';
import type { SimEnv } from './context.js';
import { registerControl } from './control.js';
import { registerEmbeddings } from './embeddings.js';
import { registerHealth } from './health.js';
import { limitBody, requestContext, requireBearer } from './middleware.js';
import { registerModels } from './models.js';

export type { SimEnv } from './context.js';

/** The simulator's HTTP surface: OpenAI-compatible /v1 routes, /healthz and the /_sim control routes. */
export function createSimApp(state: SimState): Hono<SimEnv> {
  const app = new Hono<SimEnv>();
  app.use('*', requestContext(state));
  app.use('/v1/*', requireBearer(state));
  app.use('/v1/*', limitBody(state));

  registerChatCompletions(app, state);
  registerEmbeddings(app, state);
  registerModels(app, state);
  registerHealth(app);
  registerControl(app, state);

  app.notFound((c) =>
    c.json(openAIError(`Invalid URL (${c.req.method} ${c.req.path})`, 'invalid_request_error'), 404),
  );
  // Unknown failures get a generic body with the request id; the stack goes to the log, never to the client.
  app.onError((error, c) => {
    const requestId = c.get('info')?.requestId;
    state.logger.error({ err: error, requestId }, 'unhandled error');
    return c.json(
      openAIError(
        `The server had an error while processing your request. Sorry about that! (request id ${requestId ?? 'unknown'})`,
        'server_error',
      ),
      500,
    );
  });
  return app;
}
