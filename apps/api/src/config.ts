import { envBoolean, envInt, loadConfig, sharedEnv } from '@sluice/core';
import { storageEnv } from '@sluice/storage';
import { z } from 'zod';

/** The API's environment. Every variable is documented in the README's configuration table. */
export const apiEnvSchema = z.object({
  ...sharedEnv,
  ...storageEnv,
  PORT: envInt(8080, 0, 65_535),
  /** Largest accepted request body. Default 2 MiB. */
  MAX_BODY_BYTES: envInt(2 * 1024 * 1024, 1024),
  /** Largest uploaded file (`POST /v1/files`). Default 209715200 (200 MB, OpenAI's limit for batch input). */
  FILE_MAX_BYTES: envInt(200 * 1024 * 1024, 1),
  /**
   * Expiry of an uploaded file sent without `expires_after`, seconds; 0 keeps it until deleted.
   * Default 2592000 (30 days, as OpenAI does for purpose=batch).
   */
  FILE_DEFAULT_EXPIRY_SECONDS: envInt(30 * 86_400, 0),
  /** Attempts per request, first call included. Default 5. */
  MAX_ATTEMPTS: envInt(5, 1, 50),
  /** Retention of finished request records. Default 86400 (24 h). */
  RESULT_TTL_SECONDS: envInt(86_400, 60),
  /** Longest life of an unfinished record (safety net). Default 604800 (7 days). */
  OPEN_REQUEST_TTL_SECONDS: envInt(604_800, 3_600),
  /** How long an Idempotency-Key is remembered. Default 86400 (24 h). */
  IDEMPOTENCY_TTL_SECONDS: envInt(86_400, 60),
  /** Longest `?wait=` a poll may ask for. Default 30. */
  MAX_WAIT_SECONDS: envInt(30, 0, 300),
  /** Allow webhook URLs on private networks (local development and tests only). Default false. */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: envBoolean(false),
  /** After a secret rotation, how long the old secret keeps signing deliveries, s. Default 86400. */
  WEBHOOK_SECRET_GRACE_SECONDS: envInt(86_400, 0),
  /** Length of a batch's completion window, ms. Default 86400000 (OpenAI's `24h`); shorter only for tests. */
  BATCH_WINDOW_MS: envInt(86_400_000, 1_000),
  /** How long SIGTERM waits for in-flight HTTP requests. Default 10000. */
  SHUTDOWN_TIMEOUT_MS: envInt(10_000, 0),
});

export type ApiConfig = z.infer<typeof apiEnvSchema>;

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig =>
  loadConfig(apiEnvSchema, env);
