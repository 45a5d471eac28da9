import { z } from 'zod';
import { validateKey } from '../keys.js';

/** Boolean env values: true/false/1/0/yes/no (the same words as @sluice/core's envBoolean). */
const envBoolean = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

function isValidPrefix(prefix: string): boolean {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return true;
  try {
    validateKey(trimmed);
    return true;
  } catch {
    return false;
  }
}

/**
 * File storage settings, as zod fields keyed by environment variable, for the API and worker to spread
 * into their env schemas next to `sharedEnv`. Cross-field rules (S3_BUCKET needed for s3) are checked by
 * `storageConfigFromEnv`.
 */
export const storageEnv = {
  /** Which backend holds files: `local` (a directory) or `s3` (any S3-compatible store). Default `local`. */
  FILE_STORAGE: z.enum(['local', 's3'], { message: 'expected local or s3' }).default('local'),
  /** Directory of the local backend, relative to the process cwd unless absolute. Default `.data/files`. */
  FILE_STORAGE_DIR: z.string().default('.data/files'),
  /** Bucket of the s3 backend; required when FILE_STORAGE=s3. */
  S3_BUCKET: z.string().optional(),
  /** Region of the bucket. Default `us-east-1`. */
  S3_REGION: z.string().default('us-east-1'),
  /** Endpoint of an S3-compatible store (MinIO, R2, …). Default: AWS S3. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' }).optional(),
  /** Path-style addressing (`endpoint/bucket/key`); most self-hosted stores need true. Default false. */
  S3_FORCE_PATH_STYLE: envBoolean(false),
  /** Static credentials; set both or neither. Default: the AWS SDK's chain (AWS_* variables, instance role). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Key prefix inside the bucket, e.g. `sluice/files`. Default none. */
  S3_PREFIX: z
    .string()
    .refine(isValidPrefix, 'letters, digits, / _ . and - only, without ".." or empty segments')
    .optional(),
};

/** The storage settings alone, for a process (or test) with no other config. */
export const storageEnvSchema = z.object(storageEnv);

/** Parsed storage settings; any parsed config that spread `storageEnv` fits. */
export type StorageEnv = z.infer<typeof storageEnvSchema>;
