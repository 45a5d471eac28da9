import { Transform, type TransformCallback } from 'node:stream';
import { StorageLimitError } from './errors.js';

/** Checks a `maxBytes` option: a non-negative safe integer, or undefined for no limit. */
export function checkMaxBytes(maxBytes: number | undefined): number {
  if (maxBytes === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
  return maxBytes;
}

/**
 * Passes bytes through and counts them; fails with StorageLimitError on the chunk that crosses
 * `maxBytes`, which aborts whatever is piped together with it.
 */
export class ByteCounter extends Transform {
  /** Bytes seen so far, including the chunk that crossed the limit. */
  bytes = 0;
  /** Set once the limit was crossed, so callers can tell it from errors that follow it. */
  limitError: StorageLimitError | undefined;

  constructor(private readonly maxBytes: number = Number.POSITIVE_INFINITY) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.limitError = new StorageLimitError(this.maxBytes);
      callback(this.limitError);
      return;
    }
    callback(null, chunk);
  }
}
