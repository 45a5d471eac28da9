import { getFreePort, type ProcessHandle, startProcess } from '@sluice/testkit';

/** Starts a worker as a real child process (for SIGTERM / SIGKILL tests). */
export async function spawnWorker(
  env: Record<string, string>,
  name = 'worker',
): Promise<ProcessHandle & { port: number }> {
  const port = await getFreePort();
  const handle = await startProcess({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', 'apps/worker/src/main.ts'],
    env: { ...env, PORT: String(port), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  return Object.assign(handle, { port });
}

/** Starts the API as a real child process. */
export async function spawnApi(env: Record<string, string>): Promise<ProcessHandle & { url: string }> {
  const port = await getFreePort();
  const handle = await startProcess({
    name: 'api',
    command: process.execPath,
    args: ['--import', 'tsx', 'apps/api/src/main.ts'],
    env: { ...env, PORT: String(port), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
  return Object.assign(handle, { url: `http://127.0.0.1:${port}` });
}
