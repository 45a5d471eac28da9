import { createHash } from 'node:crypto';
import { type ChatMessage, messageText } from '../openai/chat-request.js';

/**
 * Identifies a chat prompt: model plus each message's role, name and text. Field order and unread fields
 * (tools, temperature…) do not change it, so two clients sending the same conversation get the same hash.
 */
export function promptHash(
  model: string,
  messages: readonly Pick<ChatMessage, 'role' | 'name' | 'content'>[],
): string {
  const canonical = JSON.stringify([model, messages.map((m) => [m.role, m.name ?? null, messageText(m)])]);
  return sha256Hex(canonical).slice(0, 16);
}

/** Identifies an embeddings request: model plus its inputs. */
export function embeddingsHash(model: string, inputs: readonly (string | number[])[]): string {
  return sha256Hex(JSON.stringify([model, inputs])).slice(0, 16);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
