import { z } from 'zod';
import { metadataSchema } from '../contract/requests.js';

/** Endpoints a batch can target. */
export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

/** OpenAI's limits for one batch. */
export const BATCH_MAX_LINES = 50_000;
export const BATCH_WINDOW_MS = 24 * 3_600_000;

export const BATCH_STATUSES = [
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const TERMINAL_BATCH_STATUSES: readonly BatchStatus[] = [
  'failed',
  'completed',
  'expired',
  'cancelled',
];

/** `POST /v1/batches`. */
export const createBatchSchema = z
  .object({
    input_file_id: z.string().min(1).max(64),
    endpoint: z.enum(BATCH_ENDPOINTS, { message: `must be one of ${BATCH_ENDPOINTS.join(', ')}` }),
    completion_window: z.literal('24h', { message: "must be '24h'" }),
    metadata: metadataSchema.optional(),
  })
  .strict();
export type CreateBatch = z.infer<typeof createBatchSchema>;

/** One line of a validation failure, as OpenAI reports it. */
export interface BatchError {
  code: string;
  line: number | null;
  message: string;
  param: string | null;
}

/** OpenAI's Batch object. */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: BatchEndpoint;
  model: string | null;
  errors: { object: 'list'; data: BatchError[] } | null;
  input_file_id: string;
  completion_window: '24h';
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  usage: { input_tokens: number; output_tokens: number; total_tokens: number };
  metadata: Record<string, string> | null;
}
