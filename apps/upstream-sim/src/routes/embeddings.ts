import type { Hono } from 'hono';
import { embeddingVector, toBase64Embedding } from '../answers/embedding-vectors.js';
import { embeddingsHash } from '../answers/prompt-hash.js';
import { parseDirectives } from '../faults/directives.js';
import { embeddingInputs, embeddingsRequestSchema } from '../openai/embeddings-request.js';
import { openAIError } from '../openai/errors.js';
import { embeddingTokens } from '../openai/tokens.js';
import { parseRequestBody } from '../openai/validation.js';
import type { SimState } from '../state.js';
import type { SimEnv } from './context.js';
import { reject } from './reject.js';
import { handleUpstreamCall } from './upstream-call.js';

/** `POST /v1/embeddings`: deterministic unit vectors, as floats or base64 (the openai SDK's default). */
export function registerEmbeddings(app: Hono<SimEnv>, state: SimState): void {
  app.post('/v1/embeddings', async (c) => {
    const parsed = parseRequestBody(await c.req.text(), embeddingsRequestSchema);
    if (!parsed.ok) return reject(c, state, 400, parsed.error);
    const request = parsed.data;
    const inputs = embeddingInputs(request.input);
    const text = inputs.filter((input) => typeof input === 'string').join('\n');
    const directives = parseDirectives(text);
    if (!directives.ok) {
      return reject(c, state, 400, openAIError(directives.message, 'invalid_request_error', null, 'input'));
    }

    const promptTokens = embeddingTokens(inputs);
    const dimensions = request.dimensions ?? state.config.embeddingDimensions;
    const base64 = request.encoding_format === 'base64';

    return handleUpstreamCall(c, state, {
      endpoint: 'embeddings',
      model: request.model,
      hash: embeddingsHash(request.model, inputs),
      text,
      directives: directives.directives,
      tokenCost: promptTokens,
      answer: () => ({
        object: 'list',
        data: inputs.map((input, index) => {
          const vector = embeddingVector(request.model, input, dimensions);
          return { object: 'embedding', index, embedding: base64 ? toBase64Embedding(vector) : vector };
        }),
        model: request.model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      }),
    });
  });
}
