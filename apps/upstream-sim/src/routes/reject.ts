import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { OpenAIErrorBody } from '../openai/errors.js';
import { rateLimitHeaders } from '../ratelimit/limiter.js';
import type { SimState } from '../state.js';
import { type SimContext, setHeaders } from './context.js';

/**
 * Answers a request that never reaches the simulated model (invalid body, bad directive, streaming). It
 * still carries the caller's rate-limit headers, read without charging anything.
 */
export function reject(
  c: SimContext,
  state: SimState,
  status: ContentfulStatusCode,
  body: OpenAIErrorBody,
): Response {
  state.stats.rejected();
  const apiKey = c.get('info').apiKey;
  if (apiKey !== undefined) setHeaders(c, rateLimitHeaders(state.limiter.peek(apiKey)));
  return c.json(body, status);
}
