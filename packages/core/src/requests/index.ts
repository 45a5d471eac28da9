export * from './priority.js';
export * from './store.js';
