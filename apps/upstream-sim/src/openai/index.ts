export {
  type ChatMessage,
  type ChatRequest,
  chatRequestSchema,
  lastUserText,
  messageText,
} from './chat-request.js';
export {
  type EmbeddingInput,
  type EmbeddingsRequest,
  embeddingInputs,
  embeddingsRequestSchema,
} from './embeddings-request.js';
export {
  type OpenAIErrorBody,
  ORGANIZATION,
  openAIError,
  rateLimitError,
  requestTooLargeError,
  statusError,
} from './errors.js';
export { chatPromptTokens, countTextTokens, embeddingTokens, truncateToTokens } from './tokens.js';
export { type Parsed, parseRequestBody } from './validation.js';
