export { AGED_PRIORITY, AgingSweeper } from './aging.js';
export { loadWorkerConfig, type WorkerConfig, workerEnvSchema } from './config.js';
export { startWorker, type WorkerHandle } from './server.js';
