import { createHash } from 'node:crypto';
import type { EmbeddingInput } from '../openai/embeddings-request.js';

/**
 * A unit-length vector derived only from model, input and dimension count: SHA-256 in counter mode gives
 * 8 floats per block in [-1, 1], which are then L2-normalized.
 */
export function embeddingVector(model: string, input: EmbeddingInput, dimensions: number): number[] {
  const seed = JSON.stringify([model, input, dimensions]);
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${seed}`).digest();
    for (let offset = 0; offset + 4 <= digest.length && values.length < dimensions; offset += 4) {
      values.push((digest.readUInt32BE(offset) / 0xffff_ffff) * 2 - 1);
    }
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1;
  // Round-trip through float32 so `float` and `base64` encodings carry the same numbers.
  return Array.from(Float32Array.from(values, (v) => v / norm));
}

/** OpenAI's `encoding_format: 'base64'`: little-endian float32 bytes, base64-encoded. */
export function toBase64Embedding(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
