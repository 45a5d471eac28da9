export { type DirectiveParse, type Directives, parseDirectives, stripDirectives } from './directives.js';
export {
  drawRandomFault,
  type FaultPlan,
  type FaultRates,
  planFault,
  RANDOM_503_RETRY_AFTER_MS,
} from './fault-plan.js';
export { createRandom, type Random } from './prng.js';
