export { buildChatCompletion, type ChatCompletionInput, chatAnswerText } from './chat-answer.js';
export { embeddingVector, toBase64Embedding } from './embedding-vectors.js';
export { embeddingsHash, promptHash, sha256Hex } from './prompt-hash.js';
