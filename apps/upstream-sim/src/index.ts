export { chatAnswerText, embeddingVector, promptHash } from './answers/index.js';
export {
  DEFAULT_SIM_CONFIG,
  type SimConfig,
  SimConfigError,
  type SimConfigPatch,
  simConfigSchema,
} from './config.js';
export { type Directives, parseDirectives, stripDirectives } from './faults/index.js';
export type { CallFilter, CallOutcome, CallQueryResult, SimStats } from './observe/index.js';
export { formatGoDuration } from './ratelimit/index.js';
export { type RunningSimulator, type StartOptions, startSimulator } from './server.js';
export { createSimulator, DEFAULT_MODELS, type Simulator, type SimulatorOptions } from './simulator.js';
