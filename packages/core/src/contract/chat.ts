import { z } from 'zod';

/**
 * An OpenAI chat-completions request, validated field by field. Unknown fields are rejected the
 * way OpenAI rejects them, so a typo never silently changes what is billed.
 */
const text = z.string().max(1_000_000);

const contentPart = z.union([
  z.object({ type: z.literal('text'), text }).strict(),
  z
    .object({
      type: z.literal('image_url'),
      image_url: z
        .object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() })
        .strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('input_audio'),
      input_audio: z.object({ data: z.string(), format: z.enum(['wav', 'mp3']) }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('file'),
      file: z.object({
        file_data: z.string().optional(),
        file_id: z.string().optional(),
        filename: z.string().optional(),
      }),
    })
    .strict(),
]);

const textOrParts = z.union([text, z.array(contentPart).min(1).max(1_000)]);
const name = z.string().min(1).max(64).optional();

const toolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).strict(),
  })
  .strict();

const message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textOrParts, name }).strict(),
  z.object({ role: z.literal('developer'), content: textOrParts, name }).strict(),
  z.object({ role: z.literal('user'), content: textOrParts, name }).strict(),
  z
    .object({
      role: z.literal('assistant'),
      content: textOrParts.nullable().optional(),
      name,
      refusal: z.string().nullable().optional(),
      tool_calls: z.array(toolCall).max(128).optional(),
    })
    .strict(),
  z.object({ role: z.literal('tool'), content: textOrParts, tool_call_id: z.string().min(1) }).strict(),
]);

const functionName = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 characters of a-z, A-Z, 0-9, _ and -');
const jsonSchemaObject = z.record(z.string(), z.unknown());

const tool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: functionName,
        description: z.string().max(8_192).optional(),
        parameters: jsonSchemaObject.optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
  })
  .strict();

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: functionName,
          description: z.string().optional(),
          schema: jsonSchemaObject.optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: functionName }).strict() }).strict(),
]);

/** The fields of OpenAI's CreateChatCompletionRequest that Sluice forwards unchanged. */
export const chatCompletionFields = {
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1, 'must contain at least one message').max(4_096),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  n: z.number().int().min(1).max(128).optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).optional(),
  logprobs: z.boolean().optional(),
  top_logprobs: z.number().int().min(0).max(20).optional(),
  seed: z.number().int().optional(),
  response_format: responseFormat.optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  user: z.string().max(256).optional(),
  safety_identifier: z.string().max(256).optional(),
  prompt_cache_key: z.string().max(256).optional(),
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority']).optional(),
  reasoning_effort: z.enum(['minimal', 'low', 'medium', 'high']).optional(),
  store: z.boolean().optional(),
  stream: z
    .literal(false, { message: 'streaming is not supported: Sluice answers asynchronously; omit stream' })
    .optional(),
};

export const chatCompletionRequestSchema = z.object(chatCompletionFields).strict();
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
