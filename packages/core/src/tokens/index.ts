import { encode } from 'gpt-tokenizer/encoding/o200k_base';

// User text may contain strings like `<|endoftext|>`; count them as plain text instead of throwing.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };
// OpenAI cookbook: each message costs 3 framing tokens (+1 for a name); each reply is primed with 3.
const PER_MESSAGE = 3;
const PER_NAME = 1;
const REPLY_PRIMING = 3;
/** Flat cost of an image or audio part: enough to be conservative for rate-limit reservations. */
const NON_TEXT_PART = 1_000;

const countText = (text: string) => (text ? encode(text, PLAIN_TEXT).length : 0);

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return countText(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content as { type?: string; text?: string }[]) {
    n += part.type === 'text' ? countText(part.text ?? '') : NON_TEXT_PART;
  }
  return n;
}

/** Prompt tokens of a chat-completions body (o200k_base, cookbook formula), tools included. */
export function countPromptTokens(body: Record<string, unknown>): number {
  let total = REPLY_PRIMING;
  const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
  for (const m of messages) {
    total += PER_MESSAGE + countText(String(m.role ?? '')) + contentTokens(m.content);
    if (typeof m.name === 'string') total += PER_NAME + countText(m.name);
    if (Array.isArray(m.tool_calls)) total += countText(JSON.stringify(m.tool_calls));
  }
  if (Array.isArray(body.tools)) total += countText(JSON.stringify(body.tools));
  if (body.response_format && typeof body.response_format === 'object') {
    total += countText(JSON.stringify(body.response_format));
  }
  return total;
}

/** The output cap a request asks for (`max_completion_tokens` ?? `max_tokens`), or null. */
export function requestedMaxOutput(body: Record<string, unknown>): number | null {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' ? v : null;
}

/**
 * Tokens a call will count against the upstream's TPM budget: OpenAI counts the prompt plus the
 * requested output cap (× n choices), so that is what we reserve before calling.
 */
export function estimateChargedTokens(body: Record<string, unknown>, defaultMaxOutput: number): number {
  const n = typeof body.n === 'number' ? body.n : 1;
  return countPromptTokens(body) + (requestedMaxOutput(body) ?? defaultMaxOutput) * n;
}

/** Input tokens of an embeddings body (`input`: a string, strings, or pre-tokenized arrays). */
export function countEmbeddingTokens(body: Record<string, unknown>): number {
  const input = body.input;
  const items = Array.isArray(input) ? input : [input];
  let total = 0;
  for (const item of items) {
    if (typeof item === 'string') total += countText(item);
    else if (Array.isArray(item)) total += item.length;
    else if (typeof item === 'number') total += 1;
  }
  return total;
}
