export { createApp } from './app.js';
export { type ApiConfig, apiEnvSchema, loadApiConfig } from './config.js';
export type { ApiDeps } from './context.js';
export { type ApiHandle, startApi } from './server.js';
