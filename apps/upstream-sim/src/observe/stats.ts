import { BoundedCounter } from './bounded-counter.js';
import type { CallOutcome } from './call-log.js';

/** Counters exposed by `GET /_sim/stats` and `stats()`. */
export interface SimStats {
  /** Every request to /v1/*, whatever its outcome. */
  requests: number;
  /** 200 answers with a well-formed body. */
  completed: number;
  /** 429s from the RPM/TPM budgets, including "request too large". */
  rateLimited: number;
  /** Error statuses injected by `errorRate` or by directives. */
  errors: number;
  /** 4xx for missing auth or invalid input: requests that never reached the simulated model. */
  rejected: number;
  hangs: number;
  malformed: number;
  truncated: number;
  /** Clients that went away before their answer was sent. */
  aborted: number;
  /** Requests to /v1/* being handled right now (hung ones included). */
  inFlight: number;
  maxInFlight: number;
  /** Responses sent, by HTTP status. */
  byStatus: Record<string, number>;
  /** Calls that reached the simulated model, by prompt hash (bounded; oldest hashes are forgotten first). */
  byPrompt: Record<string, number>;
}

const OUTCOME_COUNTER = {
  completed: 'completed',
  rate_limited: 'rateLimited',
  error: 'errors',
  hang: 'hangs',
  malformed: 'malformed',
  truncated: 'truncated',
  aborted: 'aborted',
} as const satisfies Partial<Record<CallOutcome, keyof SimStats>>;

const MAX_PROMPT_KEYS = 10_000;

/** Mutable counters behind `SimStats`. */
export class StatsRecorder {
  private counts = zeroCounts();
  private readonly byStatus = new Map<number, number>();
  private readonly byPrompt = new BoundedCounter(MAX_PROMPT_KEYS);

  requestStarted(): void {
    this.counts.requests++;
    this.counts.inFlight++;
    this.counts.maxInFlight = Math.max(this.counts.maxInFlight, this.counts.inFlight);
  }

  requestFinished(status: number | null): void {
    this.counts.inFlight = Math.max(0, this.counts.inFlight - 1);
    if (status !== null) this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  rejected(): void {
    this.counts.rejected++;
  }

  promptSeen(hash: string): void {
    this.byPrompt.increment(hash);
  }

  outcome(outcome: CallOutcome): void {
    if (outcome === 'pending') return;
    this.counts[OUTCOME_COUNTER[outcome]]++;
  }

  snapshot(): SimStats {
    return {
      ...this.counts,
      byStatus: Object.fromEntries([...this.byStatus].map(([status, n]) => [String(status), n])),
      byPrompt: this.byPrompt.toJSON(),
    };
  }

  /** Zeroes every counter except the requests still in flight, which will still finish. */
  reset(): void {
    const { inFlight } = this.counts;
    this.counts = { ...zeroCounts(), inFlight, maxInFlight: inFlight };
    this.byStatus.clear();
    this.byPrompt.clear();
  }
}

function zeroCounts() {
  return {
    requests: 0,
    completed: 0,
    rateLimited: 0,
    errors: 0,
    rejected: 0,
    hangs: 0,
    malformed: 0,
    truncated: 0,
    aborted: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
}
