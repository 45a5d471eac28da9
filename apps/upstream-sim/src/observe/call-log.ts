/** How a call ended, as recorded in the call log and counted in stats. */
export type CallOutcome =
  | 'pending'
  | 'completed'
  | 'rate_limited'
  | 'error'
  | 'hang'
  | 'malformed'
  | 'truncated'
  | 'aborted';

export interface CallRecord {
  /** Arrival time, epoch ms. */
  at: number;
  endpoint: 'chat.completions' | 'embeddings';
  model: string;
  /** Prompt hash (see `promptHash` / `embeddingsHash`). */
  hash: string;
  /** Last user message (chat) or inputs joined by newlines (embeddings), cut to `maxTextChars`. */
  text: string;
  outcome: CallOutcome;
  /** HTTP status sent, or null while pending or when nothing was sent (hang, abort). */
  status: number | null;
}

export interface CallFilter {
  /** Substring of the recorded text (case-sensitive). */
  contains?: string;
  hash?: string;
  model?: string;
}

export interface CallQueryResult {
  /** Calls matching the filter among those retained. */
  count: number;
  byOutcome: Partial<Record<CallOutcome, number>>;
  /** Calls currently retained. */
  retained: number;
  /** Calls forgotten to keep memory bounded; when > 0, old matches may be missing from `count`. */
  dropped: number;
}

export interface CallLogLimits {
  /** Most calls retained. Default 20000. */
  maxEntries: number;
  /** Most text characters retained across all calls. Default 4,000,000. */
  maxTotalChars: number;
  /** Text kept per call; longer texts keep their beginning. Default 16384. */
  maxTextChars: number;
}

const DEFAULT_LIMITS: CallLogLimits = { maxEntries: 20_000, maxTotalChars: 4_000_000, maxTextChars: 16_384 };

/**
 * The calls that reached the simulated model (after authentication and validation), newest last, so tests can
 * assert that a prompt did or did not reach the upstream. Memory stays bounded by dropping the oldest calls.
 */
export class CallLog {
  private records: CallRecord[] = [];
  private start = 0;
  private totalChars = 0;
  private droppedCount = 0;
  private readonly limits: CallLogLimits;

  constructor(limits: Partial<CallLogLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Records a call as pending; settle it later through the returned record. */
  add(call: Omit<CallRecord, 'outcome' | 'status'>): CallRecord {
    const record: CallRecord = {
      ...call,
      text: call.text.slice(0, this.limits.maxTextChars),
      outcome: 'pending',
      status: null,
    };
    this.records.push(record);
    this.totalChars += record.text.length;
    this.evict();
    return record;
  }

  query(filter: CallFilter = {}): CallQueryResult {
    const byOutcome: Partial<Record<CallOutcome, number>> = {};
    let count = 0;
    for (let i = this.start; i < this.records.length; i++) {
      const record = this.records[i];
      if (!record || !matches(record, filter)) continue;
      count++;
      byOutcome[record.outcome] = (byOutcome[record.outcome] ?? 0) + 1;
    }
    return { count, byOutcome, retained: this.records.length - this.start, dropped: this.droppedCount };
  }

  clear(): void {
    this.records = [];
    this.start = 0;
    this.totalChars = 0;
    this.droppedCount = 0;
  }

  private evict(): void {
    const { maxEntries, maxTotalChars } = this.limits;
    while (
      this.records.length - this.start > 1 &&
      (this.records.length - this.start > maxEntries || this.totalChars > maxTotalChars)
    ) {
      const oldest = this.records[this.start];
      this.totalChars -= oldest?.text.length ?? 0;
      this.start++;
      this.droppedCount++;
    }
    // Compact once the dead prefix dominates, keeping eviction O(1) amortized.
    if (this.start > 1_024 && this.start * 2 > this.records.length) {
      this.records = this.records.slice(this.start);
      this.start = 0;
    }
  }
}

function matches(record: CallRecord, filter: CallFilter): boolean {
  if (filter.hash !== undefined && record.hash !== filter.hash) return false;
  if (filter.model !== undefined && record.model !== filter.model) return false;
  if (filter.contains !== undefined && !record.text.includes(filter.contains)) return false;
  return true;
}
