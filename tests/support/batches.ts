/** Batch API helpers shared by the end-to-end tests, all through the official openai SDK. */
import OpenAI, { toFile } from 'openai';
import type { System } from './system.js';

/** One chat-completions line of a batch input file; `extra` adds to (or overrides) its body. */
export const batchLine = (customId: string, text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], max_tokens: 50, ...extra },
  });

/** The openai SDK against an API at `baseUrl`, with retries off so every answer is the API's own. */
export const sdkFor = (baseUrl: string, apiKey: string) =>
  new OpenAI({ apiKey, baseURL: `${baseUrl}/v1`, maxRetries: 0 });

/** Uploads `jsonl` as a batch input file. */
export const uploadJsonl = async (openai: OpenAI, jsonl: string, filename = 'in.jsonl') =>
  openai.files.create({ file: await toFile(Buffer.from(jsonl), filename), purpose: 'batch' });

/** A new tenant of `sys` (pro unless told) and the SDK as that tenant. */
export async function sdkTenant(sys: System, tier: 'enterprise' | 'pro' | 'free' = 'pro') {
  const tenant = await sys.createTenant(tier);
  return { tenant, openai: sdkFor(sys.api.url, tenant.key) };
}
