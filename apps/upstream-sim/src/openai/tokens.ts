import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base';
import { type ChatMessage, messageText } from './chat-request.js';
import type { EmbeddingInput } from './embeddings-request.js';

// User text may contain strings like `<|endoftext|>`; count them as plain text instead of throwing.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// OpenAI cookbook: every message costs 3 tokens of framing (+1 for a name) and every reply is primed with 3.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING_TOKENS = 3;

export function countTextTokens(text: string): number {
  return text.length === 0 ? 0 : encode(text, PLAIN_TEXT).length;
}

/** Prompt tokens of a chat request (o200k_base encoding, cookbook message formula). */
export function chatPromptTokens(messages: readonly ChatMessage[]): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTextTokens(message.role) + countTextTokens(messageText(message));
    if (message.name) total += TOKENS_PER_NAME + countTextTokens(message.name);
  }
  return total;
}

/** Tokens of embedding inputs; pre-tokenized inputs count their length. */
export function embeddingTokens(inputs: readonly EmbeddingInput[]): number {
  return inputs.reduce(
    (sum, input) => sum + (typeof input === 'string' ? countTextTokens(input) : input.length),
    0,
  );
}

/** Cuts `text` to at most `maxTokens` tokens. */
export function truncateToTokens(
  text: string,
  maxTokens: number,
): { text: string; tokens: number; truncated: boolean } {
  const tokens = encode(text, PLAIN_TEXT);
  if (tokens.length <= maxTokens) return { text, tokens: tokens.length, truncated: false };
  return { text: decode(tokens.slice(0, maxTokens)), tokens: maxTokens, truncated: true };
}
