import { StorageConfigError } from '../errors.js';
import { validateKey } from '../keys.js';

/** `''` for no prefix, else the prefix without surrounding slashes; validated like a key. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  try {
    return validateKey(trimmed);
  } catch (err) {
    throw new StorageConfigError([`S3_PREFIX: ${(err as Error).message}`]);
  }
}

/** The object key of `key` under a normalized prefix. */
export function joinPrefix(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}
