import type { SimStats } from '@sluice/upstream-sim';
import type { Limits } from './config.js';

/** The simulator's `GET /_sim/stats` answer. */
export type { SimStats };

export interface Summary {
  n: number;
  /** Milliseconds; undefined when there are no samples. */
  p50?: number;
  p95?: number;
  max?: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    max: sorted.at(-1),
  };
}

export interface Ceiling {
  /** The most requests the limits allow over the window (both budgets start full). */
  requests: number;
  /** Which budget is the smaller one. */
  binding: 'requests' | 'tokens';
  /** Sustained rate the limits allow, requests per second. */
  perSecond: number;
  /** Requests the full buckets allow at once. */
  burst: number;
}

/**
 * The upstream's ceiling over `seconds`: min(request budget, token budget ÷ tokens per request), where
 * a budget is limit/60 × seconds + its bucket capacity (limit × windowMs/60000; the request bucket holds ≥ 1).
 */
export function ceilingOf(limits: Limits, chargeTokens: number, seconds: number): Ceiling {
  const budgets: { binding: Ceiling['binding']; perSecond: number; burst: number }[] = [];
  if (limits.rpm > 0) {
    budgets.push({
      binding: 'requests',
      perSecond: limits.rpm / 60,
      burst: Math.max(1, (limits.rpm * limits.windowMs) / 60_000),
    });
  }
  if (limits.tpm > 0) {
    budgets.push({
      binding: 'tokens',
      perSecond: limits.tpm / 60 / chargeTokens,
      burst: (limits.tpm * limits.windowMs) / 60_000 / chargeTokens,
    });
  }
  let best: Ceiling | undefined;
  for (const b of budgets) {
    const requests = Math.floor(b.perSecond * seconds + b.burst);
    if (!best || requests < best.requests) best = { ...b, requests };
  }
  if (!best) throw new Error('ceilingOf: the upstream has no limits, so there is no ceiling');
  return best;
}

/** Calls that reached the simulated model (every /v1 request except those rejected as invalid). */
export const upstreamCalls = (s: SimStats): number => s.requests - s.rejected;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition (the subset prom-client writes). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] ?? ''] = m[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sums `name` over several scrapes, grouped by the value of `label`. */
export function sumBy(samples: readonly Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** Adds one to `counts[key]`. */
export function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
