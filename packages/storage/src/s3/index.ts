export { S3FileStorage, type S3FileStorageOptions } from './s3-file-storage.js';
