import type { Readable } from 'node:stream';

/** Keeps the last `maxLines` lines written by a child's stdout and stderr, interleaved in arrival order. */
export class OutputBuffer {
  readonly #lines: string[] = [];
  readonly #partial = new Map<Readable, string>();

  constructor(readonly maxLines = 200) {}

  /** Collects lines from `stream`. */
  attach(stream: Readable): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const text = (this.#partial.get(stream) ?? '') + chunk;
      const lines = text.split('\n');
      this.#partial.set(stream, lines.pop() ?? '');
      for (const line of lines) this.#push(line.replace(/\r$/, ''));
    });
    stream.on('end', () => {
      const rest = this.#partial.get(stream);
      if (rest) this.#push(rest);
      this.#partial.delete(stream);
    });
  }

  /** The retained lines, including any unterminated last line of each stream. */
  text(): string {
    const partials = [...this.#partial.values()].filter((line) => line !== '');
    return [...this.#lines, ...partials].join('\n');
  }

  #push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.maxLines) this.#lines.splice(0, this.#lines.length - this.maxLines);
  }
}
