export * from './controller.js';
export * from './headers.js';
