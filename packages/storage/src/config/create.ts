import type { FileStorage } from '../file-storage.js';
import { LocalFileStorage, type LocalFileStorageOptions } from '../local/index.js';
import { S3FileStorage, type S3FileStorageOptions } from '../s3/index.js';

/** Which backend to build and its options. */
export type FileStorageConfig =
  | ({ kind: 'local' } & LocalFileStorageOptions)
  | ({ kind: 's3' } & Omit<S3FileStorageOptions, 'client'>);

/** Builds the backend that `config` names. */
export function createFileStorage(config: FileStorageConfig): FileStorage {
  switch (config.kind) {
    case 'local':
      return new LocalFileStorage({ directory: config.directory });
    case 's3': {
      const { kind, ...options } = config;
      return new S3FileStorage(options);
    }
  }
}
