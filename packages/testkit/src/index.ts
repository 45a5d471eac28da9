// Real infrastructure for integration tests, started and cleaned up by the test itself:
//
//   const redis = await startRedis({ appendOnly: true });
//   const api = await startProcess({ name: 'api', command: tsxBin, args: ['apps/api/src/main.ts'],
//     env: { REDIS_URL: redis.url, PORT: String(port) }, readyUrl: `http://127.0.0.1:${port}/health` });
//   afterAll(async () => { await api.stop(); await redis.stop(); });
export { repoRoot, tsxBin } from './paths.js';
export { getFreePort } from './ports.js';
export { type ProcessExit, type ProcessHandle, type StartProcessOptions, startProcess } from './process.js';
export { randomPrefix } from './random-prefix.js';
export { type RedisServerHandle, type StartRedisOptions, startRedis } from './redis-server.js';
export { type WaitForOptions, waitFor } from './wait.js';
