import { z } from 'zod';

const MAX_INPUTS = 2048;

export const embeddingsRequestSchema = z
  .object({
    model: z.string().min(1),
    input: z.union([
      z.string().min(1),
      z.array(z.string().min(1)).min(1).max(MAX_INPUTS),
      z.array(z.number().int().min(0)).min(1),
      z
        .array(z.array(z.number().int().min(0)).min(1))
        .min(1)
        .max(MAX_INPUTS),
    ]),
    encoding_format: z.enum(['float', 'base64']).nullish(),
    dimensions: z.number().int().min(1).max(4096).nullish(),
  })
  .loose();

export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** One embedding input: text, or an already tokenized text. */
export type EmbeddingInput = string | number[];

/** Normalizes the four accepted `input` shapes to a list of inputs. */
export function embeddingInputs(input: EmbeddingsRequest['input']): EmbeddingInput[] {
  if (typeof input === 'string') return [input];
  if (input.every((item): item is number => typeof item === 'number')) return [input];
  return input.filter((item): item is string | number[] => typeof item !== 'number');
}
