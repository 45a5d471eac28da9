export { BoundedCounter } from './bounded-counter.js';
export {
  type CallFilter,
  CallLog,
  type CallLogLimits,
  type CallOutcome,
  type CallQueryResult,
  type CallRecord,
} from './call-log.js';
export { type SimStats, StatsRecorder } from './stats.js';
