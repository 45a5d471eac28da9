export { LocalFileStorage, type LocalFileStorageOptions, TEMP_FILE_PREFIX } from './local-file-storage.js';
