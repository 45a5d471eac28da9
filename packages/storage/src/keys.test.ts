import { describe, expect, it } from 'vitest';
import { StorageKeyError } from './errors.js';
import { MAX_KEY_LENGTH, validateKey } from './keys.js';

describe('validateKey', () => {
  it.each([
    'file_01J9Z.jsonl',
    'batches/batch_1/output.jsonl',
    'a-b_c.d/E-F',
    '.hidden',
    'x'.repeat(MAX_KEY_LENGTH),
  ])('accepts %s', (key) => {
    expect(validateKey(key)).toBe(key);
  });

  it.each([
    ['', 'empty'],
    ['x'.repeat(MAX_KEY_LENGTH + 1), 'too long'],
    ['../x', 'parent segment'],
    ['a/../b', 'inner parent segment'],
    ['a..b', 'two dots anywhere'],
    ['/abs', 'leading slash'],
    ['dir/', 'trailing slash'],
    ['a//b', 'empty segment'],
    ['./a', 'dot segment'],
    ['a\\..\\b', 'backslash'],
    ['a\0b', 'NUL byte'],
    ['a b', 'space'],
    ['%2e%2e', 'percent-encoding'],
    ['.~x.0123', 'temp-file marker'],
    ['ü', 'non-ASCII'],
  ])('refuses %j (%s)', (key) => {
    expect(() => validateKey(key)).toThrow(StorageKeyError);
  });
});
