export { createFileStorage, type FileStorageConfig } from './create.js';
export { type StorageEnv, storageEnv, storageEnvSchema } from './env.js';
export { storageConfigFromEnv, storageFromEnv } from './from-env.js';
