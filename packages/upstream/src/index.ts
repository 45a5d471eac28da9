export * from './classify.js';
export * from './client.js';
export * from './ratelimit/index.js';
export * from './retry-after.js';
