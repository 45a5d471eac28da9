import { z } from 'zod';
import type { StartOptions } from './server.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const rate = z.coerce.number().min(0).max(1).default(0);

/** Environment of `main.ts`; every variable is optional and the defaults work on a laptop. */
const envSchema = z.object({
  PORT: int(0, 65_535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  SIM_API_KEY: z.string().min(1).optional(),
  SIM_RPM: int(0, 100_000_000).default(600),
  SIM_TPM: int(0, 10_000_000_000).default(200_000),
  SIM_WINDOW_MS: int(1, 60_000).default(60_000),
  SIM_LATENCY_MS: int(0, 600_000).default(50),
  SIM_LATENCY_JITTER_MS: int(0, 600_000).default(0),
  SIM_ERROR_RATE: rate,
  SIM_HANG_RATE: rate,
  SIM_MALFORMED_RATE: rate,
  SIM_TRUNCATED_RATE: rate,
  SIM_SEED: int(-2_147_483_648, 4_294_967_295).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type SimEnvVars = z.infer<typeof envSchema>;

/** Thrown for a bad environment variable; the message names it. */
export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/** Parses the environment into start options; empty values count as unset. */
export function parseSimEnv(env: Record<string, string | undefined>): {
  options: StartOptions;
  logLevel: SimEnvVars['LOG_LEVEL'];
} {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = envSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new EnvError(`Invalid environment variable ${name}: ${issue?.message ?? 'invalid value'}`);
  }
  const vars = result.data;
  return {
    logLevel: vars.LOG_LEVEL,
    options: {
      port: vars.PORT,
      host: vars.HOST,
      apiKey: vars.SIM_API_KEY,
      rpm: vars.SIM_RPM,
      tpm: vars.SIM_TPM,
      windowMs: vars.SIM_WINDOW_MS,
      latencyMs: vars.SIM_LATENCY_MS,
      latencyJitterMs: vars.SIM_LATENCY_JITTER_MS,
      errorRate: vars.SIM_ERROR_RATE,
      hangRate: vars.SIM_HANG_RATE,
      malformedRate: vars.SIM_MALFORMED_RATE,
      truncatedRate: vars.SIM_TRUNCATED_RATE,
      seed: vars.SIM_SEED,
    },
  };
}
