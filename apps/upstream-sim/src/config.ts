import { z } from 'zod';

const rate = z.number().min(0).max(1);
const ms = z.number().int().min(0).max(600_000);

/** Behaviour that can change at run time (`PUT /_sim/config`, `configure()`). */
export const simConfigSchema = z.strictObject({
  /** Requests per minute per API key; 0 disables the request budget. */
  rpm: z.number().int().min(0),
  /** Tokens per minute per API key (prompt + max output); 0 disables the token budget. */
  tpm: z.number().int().min(0),
  /** Interval the per-minute limits are enforced over, in ms; bucket capacity = limit * windowMs / 60000. */
  windowMs: z.number().int().min(1).max(60_000),
  /** Delay before answering an accepted request, in ms. */
  latencyMs: ms,
  /** Extra random delay, uniform in [0, latencyJitterMs] ms. */
  latencyJitterMs: ms,
  /** Share of accepted requests answered 500 or 503 (half each). */
  errorRate: rate,
  /** Share of accepted requests never answered. */
  hangRate: rate,
  /** Share of accepted requests answered 200 with invalid JSON. */
  malformedRate: rate,
  /** Share of accepted requests whose 200 body is cut off mid-JSON. */
  truncatedRate: rate,
  /** Seed of the fault and jitter PRNGs; the same seed and request order give the same faults. */
  seed: z.number().int(),
  /** Output tokens charged to the TPM budget when a request sets neither max_completion_tokens nor max_tokens. */
  defaultMaxTokens: z.number().int().min(1),
  /** Length of embedding vectors when a request does not ask for `dimensions`. */
  embeddingDimensions: z.number().int().min(1).max(4096),
});

export type SimConfig = z.infer<typeof simConfigSchema>;

/**
 * In-process defaults: no rate limits (tests opt in), 50 ms latency, no faults. `main.ts` applies the
 * service defaults (600 RPM, 200000 TPM) through its environment schema instead.
 */
export const DEFAULT_SIM_CONFIG: SimConfig = {
  rpm: 0,
  tpm: 0,
  windowMs: 60_000,
  latencyMs: 50,
  latencyJitterMs: 0,
  errorRate: 0,
  hangRate: 0,
  malformedRate: 0,
  truncatedRate: 0,
  seed: 1,
  defaultMaxTokens: 256,
  embeddingDimensions: 8,
};

/** A partial update; `rpm: null` / `tpm: null` disable a budget like 0 does. */
export const simConfigPatchSchema = simConfigSchema.partial().extend({
  rpm: simConfigSchema.shape.rpm.nullish(),
  tpm: simConfigSchema.shape.tpm.nullish(),
});

export type SimConfigPatch = z.input<typeof simConfigPatchSchema>;

/** Thrown by `configure()` and `createSimulator()` for an invalid setting; the message names the field. */
export class SimConfigError extends Error {
  override readonly name = 'SimConfigError';
}

/** Validates `patch` and returns `base` with it applied. */
export function applyConfigPatch(base: SimConfig, patch: unknown): SimConfig {
  const result = simConfigPatchSchema.safeParse(patch ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    throw new SimConfigError(`Invalid simulator setting '${field}': ${issue?.message ?? 'invalid value'}`);
  }
  const next: SimConfig = { ...base };
  for (const [key, value] of Object.entries(result.data) as [keyof SimConfig, number | null | undefined][]) {
    if (value === undefined) continue;
    next[key] = value ?? 0;
  }
  return next;
}
