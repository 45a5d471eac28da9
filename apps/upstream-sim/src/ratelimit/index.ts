export { formatGoDuration } from './go-duration.js';
export {
  type BudgetName,
  type BudgetSnapshot,
  type LimitDecision,
  type LimitSettings,
  type LimitSnapshot,
  RateLimiter,
  rateLimitHeaders,
} from './limiter.js';
export { TokenBucket } from './token-bucket.js';
