export * from './config/index.js';
export { StorageConfigError, StorageKeyError, StorageLimitError, StorageNotFoundError } from './errors.js';
export type { FileStorage, PutOptions } from './file-storage.js';
export { MAX_KEY_LENGTH, validateKey } from './keys.js';
export { LocalFileStorage, type LocalFileStorageOptions } from './local/index.js';
export { S3FileStorage, type S3FileStorageOptions } from './s3/index.js';
