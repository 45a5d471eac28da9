import { stripDirectives } from '../faults/directives.js';
import { type ChatMessage, lastUserText } from '../openai/chat-request.js';
import { truncateToTokens } from '../openai/tokens.js';
import { promptHash } from './prompt-hash.js';

type PromptMessage = Pick<ChatMessage, 'role' | 'name' | 'content'>;

/**
 * The full (untruncated) assistant answer: `Echo: <last user text without directives> [<8 hex of the prompt
 * hash>]`. The hash covers model and every message, so prompts that echo the same text still differ.
 */
export function chatAnswerText(model: string, messages: readonly PromptMessage[]): string {
  const echoed = stripDirectives(lastUserText(messages));
  return `Echo: ${echoed} [${promptHash(model, messages).slice(0, 8)}]`;
}

export interface ChatCompletionInput {
  id: string;
  createdSeconds: number;
  model: string;
  messages: readonly PromptMessage[];
  promptTokens: number;
  /** Output cap per choice (max_completion_tokens ?? max_tokens), or undefined for no cap. */
  maxOutputTokens: number | undefined;
  choices: number;
}

/** A `chat.completion` object; output longer than the cap is cut and marked `finish_reason: 'length'`. */
export function buildChatCompletion(input: ChatCompletionInput) {
  const full = chatAnswerText(input.model, input.messages);
  const answer = truncateToTokens(full, input.maxOutputTokens ?? Number.POSITIVE_INFINITY);
  const completionTokens = answer.tokens * input.choices;
  return {
    id: input.id,
    object: 'chat.completion' as const,
    created: input.createdSeconds,
    model: input.model,
    choices: Array.from({ length: input.choices }, (_, index) => ({
      index,
      message: { role: 'assistant' as const, content: answer.text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: answer.truncated ? ('length' as const) : ('stop' as const),
    })),
    usage: {
      prompt_tokens: input.promptTokens,
      completion_tokens: completionTokens,
      total_tokens: input.promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: 'default' as const,
    system_fingerprint: 'fp_sluice_sim',
  };
}
