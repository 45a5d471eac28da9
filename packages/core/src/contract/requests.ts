import { z } from 'zod';
import { chatCompletionFields } from './chat.js';

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const TIERS = ['enterprise', 'pro', 'free'] as const;
export type Tier = (typeof TIERS)[number];

export const REQUEST_STATUSES = ['queued', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RequestStatus[] = ['completed', 'failed', 'cancelled'];

/** Client metadata: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters (OpenAI's limits). */
export const metadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'must have at most 16 keys');

/** `POST /v1/requests`: a chat-completions body plus Sluice's own options. */
export const submitRequestSchema = z
  .object({
    ...chatCompletionFields,
    /** Priority inside the tenant's tier band; capped by what the tier allows. Default `normal`. */
    priority: z.enum(PRIORITIES).optional(),
    metadata: metadataSchema.optional(),
    /** Send this request's events only to this URL, which must be one of the tenant's registered webhooks. */
    webhook_url: z.string().min(1).max(2048).optional(),
  })
  .strict();
export type SubmitRequest = z.infer<typeof submitRequestSchema>;

/** `POST /admin/tenants`. */
export const createTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(128),
    tier: z.enum(TIERS),
  })
  .strict();
export type CreateTenant = z.infer<typeof createTenantSchema>;

/** The error stored on a failed request. */
export interface RequestError {
  code: string;
  message: string;
  /** The upstream's HTTP status, when the upstream answered. */
  upstream_status?: number;
  /** The upstream's own error code, when it gave one. */
  upstream_code?: string | null;
}

/** Who produced a completed request's answer. */
export interface ServedBy {
  /** Upstream name from configuration (`primary` is OPENAI_BASE_URL), or `cache`. */
  upstream: string;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What `GET /v1/requests/{id}` answers (and what webhooks will carry as `data`). */
export interface RequestView {
  id: string;
  object: 'request';
  status: RequestStatus;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  model: string;
  priority: Priority;
  attempts: number;
  metadata: Record<string, string>;
  response: unknown | null;
  error: RequestError | null;
  usage: Usage | null;
  /** Which upstream and model answered (a fallback may differ from the requested model). */
  served_by: ServedBy | null;
  /** While queued or in progress: the estimated completion time (unix seconds), else null. */
  estimated_completion_at?: number | null;
}
