/** `get` of a key that holds nothing. */
export class StorageNotFoundError extends Error {
  readonly code = 'storage_not_found';
  constructor(readonly key: string) {
    super(`No stored file under key "${key}"`);
    this.name = 'StorageNotFoundError';
  }
}

/** A `put` body longer than its `maxBytes`; nothing was stored. */
export class StorageLimitError extends Error {
  readonly code = 'storage_limit_exceeded';
  constructor(readonly maxBytes: number) {
    super(`File exceeds the limit of ${maxBytes} bytes`);
    this.name = 'StorageLimitError';
  }
}

/** A key outside the allowed alphabet or shape (see `validateKey`); thrown before any I/O. */
export class StorageKeyError extends Error {
  readonly code = 'storage_invalid_key';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Invalid storage key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'StorageKeyError';
  }
}

/** Storage settings that cannot work together, named by their environment variables. */
export class StorageConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'StorageConfigError';
  }
}
