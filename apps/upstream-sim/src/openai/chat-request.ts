import { z } from 'zod';

// Only the fields the simulator reads are checked; everything else OpenAI accepts passes through untouched.
const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();

const chatMessage = z
  .object({
    role: z.enum(['developer', 'system', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
    name: z.string().optional(),
  })
  .loose();

export const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(chatMessage).min(1),
    max_tokens: z.number().int().min(1).nullish(),
    max_completion_tokens: z.number().int().min(1).nullish(),
    n: z.number().int().min(1).max(128).nullish(),
    stream: z.boolean().nullish(),
  })
  .loose();

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessage>;

/** The text of a message: the string content, or its text parts joined by newlines. */
export function messageText(message: Pick<ChatMessage, 'content'>): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .filter((part) => part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
}

/** The text of the last user message, where the echo answer and `[sim:…]` directives come from. */
export function lastUserText(messages: readonly Pick<ChatMessage, 'role' | 'content'>[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === 'user') return messageText(message);
  }
  return '';
}
