import { StorageKeyError } from './errors.js';

/** Longest key accepted, in characters; S3 allows 1,024 bytes and leaves room for a prefix. */
export const MAX_KEY_LENGTH = 512;

const KEY_ALPHABET = /^[a-zA-Z0-9/_.-]+$/;

/**
 * Throws StorageKeyError unless `key` is a plain relative path: only `[a-zA-Z0-9/_.-]`, no leading or
 * trailing `/`, no empty segment, no `.` segment and no `..` anywhere. Both backends call it first, so a
 * key that works on one works on the other and none can climb out of the storage root.
 */
export function validateKey(key: string): string {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new StorageKeyError(key, `must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (!KEY_ALPHABET.test(key))
    throw new StorageKeyError(key, 'only letters, digits, / _ . and - are allowed');
  if (key.includes('..')) throw new StorageKeyError(key, '".." is not allowed');
  if (key.startsWith('/') || key.endsWith('/')) {
    throw new StorageKeyError(key, 'must not start or end with "/"');
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.') throw new StorageKeyError(key, 'empty or "." path segment');
  }
  return key;
}
