import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export const MiB = 1024 * 1024;

/** How a generated stream ends early, if at all. */
export interface PatternStreamOptions {
  /** Fail with an Error once this many bytes were pushed. */
  failAfterBytes?: number;
  /** Close without an error (a client that went away) once this many bytes were pushed. */
  closeAfterBytes?: number;
  /** Varies the content between streams of the same size. Default 0. */
  seed?: number;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * `totalBytes` of JSONL-like lines made on the fly, 64 KiB at a time, so multi-megabyte bodies never
 * exist as one buffer. The content depends on the offset, so reordered or dropped parts change the hash.
 */
export function patternStream(totalBytes: number, options: PatternStreamOptions = {}): Readable {
  const seed = options.seed ?? 0;
  let pushed = 0;
  return new Readable({
    read() {
      if (options.failAfterBytes !== undefined && pushed >= options.failAfterBytes) {
        this.destroy(new Error('upstream connection reset'));
        return;
      }
      if (options.closeAfterBytes !== undefined && pushed >= options.closeAfterBytes) {
        this.destroy();
        return;
      }
      if (pushed >= totalBytes) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK_BYTES, totalBytes - pushed);
      this.push(patternChunk(pushed, size, seed));
      pushed += size;
    },
  });
}

function patternChunk(offset: number, size: number, seed: number): Buffer {
  const chunk = Buffer.alloc(size);
  let written = 0;
  let line = Math.floor(offset / 64);
  while (written < size) {
    const text = `{"custom_id":"req-${seed}-${line}","n":${(line * 7919) % 100_003}}\n`;
    written += chunk.write(text, written);
    line += 1;
  }
  return chunk;
}

/** SHA-256 (hex) and length of everything `stream` yields. */
export async function digest(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The digest a `patternStream(totalBytes, { seed })` body should round-trip to. */
export function expectedDigest(totalBytes: number, seed = 0): Promise<{ sha256: string; bytes: number }> {
  return digest(patternStream(totalBytes, { seed }));
}
