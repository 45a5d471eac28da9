import { StorageConfigError } from '../errors.js';
import type { FileStorage } from '../file-storage.js';
import { createFileStorage, type FileStorageConfig } from './create.js';
import type { StorageEnv } from './env.js';

/**
 * The backend config that parsed env settings describe; throws StorageConfigError naming the
 * variables when they cannot work together. Call it at start-up so a bad setting stops the process.
 */
export function storageConfigFromEnv(env: StorageEnv): FileStorageConfig {
  if (env.FILE_STORAGE === 'local') return { kind: 'local', directory: env.FILE_STORAGE_DIR };

  const issues: string[] = [];
  if (env.S3_BUCKET === undefined) issues.push('S3_BUCKET: required when FILE_STORAGE=s3');
  if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
    issues.push('S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither');
  }
  if (issues.length > 0 || env.S3_BUCKET === undefined) throw new StorageConfigError(issues);
  return {
    kind: 's3',
    bucket: env.S3_BUCKET,
    region: env.S3_REGION,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    ...(env.S3_ENDPOINT !== undefined && { endpoint: env.S3_ENDPOINT }),
    ...(env.S3_ACCESS_KEY_ID !== undefined && { accessKeyId: env.S3_ACCESS_KEY_ID }),
    ...(env.S3_SECRET_ACCESS_KEY !== undefined && { secretAccessKey: env.S3_SECRET_ACCESS_KEY }),
    ...(env.S3_PREFIX !== undefined && { prefix: env.S3_PREFIX }),
  };
}

/** The backend that parsed env settings describe: `createFileStorage(storageConfigFromEnv(env))`. */
export function storageFromEnv(env: StorageEnv): FileStorage {
  return createFileStorage(storageConfigFromEnv(env));
}
