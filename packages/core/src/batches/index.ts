export * from './contract.js';
export * from './store.js';
