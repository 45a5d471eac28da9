const NS_PER_US = 1_000;
const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000_000_000;
const NS_PER_MIN = 60 * NS_PER_S;
const NS_PER_H = 60 * NS_PER_MIN;

/**
 * Formats a duration given in milliseconds the way Go's `time.Duration.String()` does, which is the
 * format OpenAI uses in `x-ratelimit-reset-*` headers: `0s`, `20ms`, `1.5s`, `6m0s`, `1h32m15s`.
 * Sub-millisecond precision is kept (`1.5ms`, `250µs`) because Go keeps it; callers that want OpenAI's
 * usual whole-millisecond values round before calling.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '0s';
  // Integer nanoseconds make every later step exact; safe up to ~104 days within 2^53.
  const total = Math.round(ms * NS_PER_MS);
  if (total === 0) return '0s';
  const sign = total < 0 ? '-' : '';
  const ns = Math.abs(total);

  if (ns < NS_PER_US) return `${sign}${ns}ns`;
  if (ns < NS_PER_MS) return `${sign}${decimal(ns, NS_PER_US)}µs`;
  if (ns < NS_PER_S) return `${sign}${decimal(ns, NS_PER_MS)}ms`;

  const hours = Math.floor(ns / NS_PER_H);
  const minutes = Math.floor((ns % NS_PER_H) / NS_PER_MIN);
  const seconds = decimal(ns % NS_PER_MIN, NS_PER_S);
  // Go always prints the smaller units once a larger one is present: 1h0m0s, 6m0s.
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** `value / unit` as a decimal string without trailing zeros, computed on integers to avoid float noise. */
function decimal(value: number, unit: number): string {
  const whole = Math.floor(value / unit);
  const rest = value % unit;
  if (rest === 0) return String(whole);
  const digits = String(unit).length - 1;
  const fraction = String(rest).padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${fraction}`;
}
