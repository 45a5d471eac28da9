import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** The non-blank lines of a JSONL stream with their 1-based line numbers, read without buffering the file. */
export async function* jsonlLines(stream: Readable): AsyncGenerator<{ line: number; text: string }> {
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    yield { line, text };
  }
}

/** The id of the request that runs line `index` (0-based) of a batch: deterministic, so re-enqueueing is a no-op. */
export const lineRequestId = (batchId: string, index: number) =>
  `${batchId}-${String(index).padStart(5, '0')}`;
