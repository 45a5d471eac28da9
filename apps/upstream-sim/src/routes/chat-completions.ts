import type { Hono } from 'hono';
import { buildChatCompletion } from '../answers/chat-answer.js';
import { promptHash } from '../answers/prompt-hash.js';
import { parseDirectives } from '../faults/directives.js';
import { newCompletionId } from '../ids.js';
import { chatRequestSchema, lastUserText } from '../openai/chat-request.js';
import { openAIError } from '../openai/errors.js';
import { chatPromptTokens } from '../openai/tokens.js';
import { parseRequestBody } from '../openai/validation.js';
import type { SimState } from '../state.js';
import type { SimEnv } from './context.js';
import { reject } from './reject.js';
import { handleUpstreamCall } from './upstream-call.js';

/** `POST /v1/chat/completions`: a deterministic echo answer, non-streaming only. */
export function registerChatCompletions(app: Hono<SimEnv>, state: SimState): void {
  app.post('/v1/chat/completions', async (c) => {
    const parsed = parseRequestBody(await c.req.text(), chatRequestSchema);
    if (!parsed.ok) return reject(c, state, 400, parsed.error);
    const request = parsed.data;
    if (request.stream) {
      return reject(
        c,
        state,
        400,
        openAIError(
          'Streaming is not supported by the Sluice upstream simulator; send stream: false.',
          'invalid_request_error',
          'unsupported_value',
          'stream',
        ),
      );
    }

    const text = lastUserText(request.messages);
    const directives = parseDirectives(text);
    if (!directives.ok) {
      return reject(
        c,
        state,
        400,
        openAIError(directives.message, 'invalid_request_error', null, 'messages'),
      );
    }

    const promptTokens = chatPromptTokens(request.messages);
    const maxOutputTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
    const choices = request.n ?? 1;
    // OpenAI charges the output cap up front (for every choice), not the tokens eventually produced.
    const tokenCost = promptTokens + (maxOutputTokens ?? state.config.defaultMaxTokens) * choices;

    return handleUpstreamCall(c, state, {
      endpoint: 'chat.completions',
      model: request.model,
      hash: promptHash(request.model, request.messages),
      text,
      directives: directives.directives,
      tokenCost,
      answer: () =>
        buildChatCompletion({
          id: newCompletionId(),
          createdSeconds: Math.floor(Date.now() / 1000),
          model: request.model,
          messages: request.messages,
          promptTokens,
          maxOutputTokens,
          choices,
        }),
    });
  });
}
