export * from './contract.js';
export * from './signing.js';
export * from './store.js';
