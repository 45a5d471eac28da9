/** Counts per key, remembering at most `maxKeys` keys; the key inserted first is forgotten first. */
export class BoundedCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxKeys: number) {}

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Adds one to `key` and returns the count before the increment. */
  increment(key: string): number {
    const before = this.counts.get(key);
    if (before === undefined && this.counts.size >= this.maxKeys) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    this.counts.set(key, (before ?? 0) + 1);
    return before ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  clear(): void {
    this.counts.clear();
  }
}
