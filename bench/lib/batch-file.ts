/**
 * The batch input file of `pnpm bench:batch`, written to disk line by line (never held whole in memory),
 * and the streamed check of an output file.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { MODEL } from './config.js';

export const BATCH_ENDPOINT = '/v1/chat/completions';
/** Every line sets max_tokens, so the simulator's charge per line is prompt tokens + this. */
export const LINE_MAX_TOKENS = 32;

export const customIdOf = (i: number) => `line-${String(i).padStart(6, '0')}`;

/** One line of the input file: a distinct prompt per line (so no two bodies are equal). */
export function inputLine(i: number): string {
  return JSON.stringify({
    custom_id: customIdOf(i),
    method: 'POST',
    url: BATCH_ENDPOINT,
    body: {
      model: MODEL,
      messages: [
        {
          role: 'user',
          content: `Batch benchmark line ${i}: in one sentence, what is ${i % 997} plus ${Math.floor(i / 997)}?`,
        },
      ],
      max_tokens: LINE_MAX_TOKENS,
    },
  });
}

/** Writes `lines` lines to `path` in chunks, respecting the stream's backpressure; resolves with the bytes. */
export async function writeInputFile(path: string, lines: number, signal: AbortSignal): Promise<number> {
  const out = createWriteStream(path);
  const CHUNK = 1_000;
  let bytes = 0;
  try {
    for (let start = 0; start < lines; start += CHUNK) {
      signal.throwIfAborted();
      const end = Math.min(lines, start + CHUNK);
      let text = '';
      for (let i = start; i < end; i++) text += `${inputLine(i)}\n`;
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await once(out, 'drain', { signal });
    }
    out.end();
    await once(out, 'finish', { signal });
    return bytes;
  } catch (err) {
    out.destroy();
    throw err;
  }
}

export interface OutputCheck {
  lines: number;
  /** Lines with response.status_code 200 and no error. */
  ok: number;
  /** Distinct custom_ids that belong to the input. */
  distinctKnownIds: number;
  /** Lines that were not JSON or had no custom_id. */
  malformed: number;
  bytes: number;
}

/** Reads an output (or error) file as a stream, counting lines, successes and distinct custom_ids. */
export async function checkOutput(
  body: WebReadableStream<Uint8Array> | ReadableStream<Uint8Array> | null,
  expected: number,
): Promise<OutputCheck> {
  const check: OutputCheck = { lines: 0, ok: 0, distinctKnownIds: 0, malformed: 0, bytes: 0 };
  if (!body) return check;
  const seen = new Uint8Array(expected);
  const stream = Readable.fromWeb(body as WebReadableStream<Uint8Array>);
  stream.on('data', (chunk: Buffer) => {
    check.bytes += chunk.length;
  });
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of rl) {
    if (text.trim() === '') continue;
    check.lines++;
    let line: { custom_id?: unknown; response?: { status_code?: unknown } | null; error?: unknown };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      check.malformed++;
      continue;
    }
    if (typeof line.custom_id !== 'string') {
      check.malformed++;
      continue;
    }
    if (line.response?.status_code === 200 && !line.error) check.ok++;
    const m = /^line-(\d{6})$/.exec(line.custom_id);
    const i = m ? Number(m[1]) : -1;
    if (i >= 0 && i < expected && seen[i] === 0) {
      seen[i] = 1;
      check.distinctKnownIds++;
    }
  }
  return check;
}
