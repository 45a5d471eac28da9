import { z } from 'zod';

/** An OpenAI embeddings request (batch lines for `/v1/embeddings`). */
export const embeddingsRequestSchema = z
  .object({
    model: z.string().min(1).max(256),
    input: z.union([
      z.string().min(1).max(1_000_000),
      z.array(z.string().max(1_000_000)).min(1).max(2_048),
      z.array(z.number().int()).min(1),
      z.array(z.array(z.number().int()).min(1)).min(1).max(2_048),
    ]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().min(1).max(4_096).optional(),
    user: z.string().max(256).optional(),
  })
  .strict();
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;
