import { type ChildProcess, spawn } from 'node:child_process';
import { constants, rmSync } from 'node:fs';
import { access, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { onTestProcessExit } from './cleanup.js';
import { getFreePort } from './ports.js';
import {
  type RedisServerHandle,
  redisConfigArgs,
  type StartRedisOptions,
  tailLines,
} from './redis-config.js';
import { probeRedis } from './redis-ping.js';

export type { RedisServerHandle, StartRedisOptions } from './redis-config.js';

const HOST = '127.0.0.1';
const PORT_ATTEMPTS = 5;
const STOP_TIMEOUT_MS = 10_000;

interface RunningServer {
  child: ChildProcess;
  exited: Promise<void>;
  isRunning(): boolean;
}

/**
 * Starts a real Redis for a test: a local `redis-server` (REDIS_SERVER_BIN, else PATH) on a free port in
 * its own temp dir, or, when there is no binary, a `redis:7` container if Docker is usable.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const bin = await findRedisServer();
  if (bin) return startRedisProcess(bin, options);
  // Loaded lazily so that the usual path never loads testcontainers.
  const container = await import('./redis-container.js');
  const dockerProblem = await container.containerRuntimeProblem();
  if (dockerProblem === undefined) return container.startRedisContainer(options);
  throw new Error(
    [
      'startRedis: no Redis server available for integration tests. Fix it in one of these ways:',
      '  1. install Redis: `sudo apt-get install redis-server` (macOS: `brew install redis`)',
      '  2. set REDIS_SERVER_BIN=/absolute/path/to/redis-server',
      '  3. start Docker, so a redis:7 container can be used instead',
      `(redis-server was not found on PATH; Docker check failed: ${dockerProblem})`,
    ].join('\n'),
  );
}

async function findRedisServer(): Promise<string | undefined> {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new Error(`startRedis: REDIS_SERVER_BIN=${fromEnv} is not an executable file`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'redis-server');
    if (dir && (await isExecutable(candidate))) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function startRedisProcess(bin: string, options: StartRedisOptions): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-redis-'));
  const logFile = join(dir, 'redis.log');
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const forgetDir = onTestProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  let port = options.port ?? 0;

  const launch = async (): Promise<RunningServer> => {
    const logOffset = await fileSize(logFile);
    const args = ['--port', String(port), '--bind', HOST, '--logfile', logFile, '--daemonize', 'no'];
    const child = spawn(bin, [...args, ...redisConfigArgs(options, dir)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8_000);
    });
    let running = true;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.on('error', (err) => {
        stderr += `\n${err.message}`;
        resolve();
      });
    }).then(() => {
      running = false;
    });
    const forgetChild = onTestProcessExit(() => child.kill('SIGKILL'));
    void exited.then(forgetChild);

    // Only our own server counts: another test's Redis may have won the race for this port.
    const isOurs = async () => child.pid !== undefined && (await probeRedis(HOST, port)) === child.pid;
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await isOurs())) {
      const timedOut = Date.now() >= deadline;
      if (running && !timedOut) {
        await delay(25);
        continue;
      }
      const problem = running ? `did not answer PING within ${readyTimeoutMs} ms` : 'exited during start-up';
      child.kill('SIGKILL');
      await exited;
      const log = tailLines(`${await readFrom(logFile, logOffset)}\n${stderr}`, 50);
      throw new Error(`startRedis: redis-server on port ${port} ${problem}\n--- redis log ---\n${log}`);
    }
    return { child, exited, isRunning: () => running };
  };

  const launchOnFreePort = async (): Promise<RunningServer> => {
    for (let attempt = 1; ; attempt++) {
      if (options.port === undefined) port = await getFreePort();
      try {
        return await launch();
      } catch (err) {
        // Another process may take the port between getFreePort() and redis-server binding it.
        const collided = err instanceof Error && /address already in use/i.test(err.message);
        if (options.port !== undefined || !collided || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  };

  let server: RunningServer;
  try {
    server = await launchOnFreePort();
  } catch (err) {
    forgetDir();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://${HOST}:${port}`,
    host: HOST,
    port,
    dir,
    kind: 'process',
    logs: async () => tailLines(await readFrom(logFile, 0)),
    stop() {
      stopping ??= (async () => {
        await terminate(server);
        forgetDir();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
    async kill() {
      server.child.kill('SIGKILL');
      await server.exited;
    },
    async restart() {
      if (stopping) throw new Error('startRedis: restart() after stop() is not possible; the data is gone');
      await terminate(server);
      server = await launch();
    },
    async pause(durationMs) {
      if (!server.isRunning()) throw new Error('startRedis: pause() needs a running server');
      server.child.kill('SIGSTOP');
      await delay(durationMs);
      server.child.kill('SIGCONT');
    },
  };
}

/** SIGTERM (Redis then flushes the AOF and exits), SIGKILL if it takes too long. */
async function terminate(server: RunningServer): Promise<void> {
  if (!server.isRunning()) return;
  server.child.kill('SIGTERM');
  server.child.kill('SIGCONT'); // A paused server would otherwise never see the SIGTERM.
  const exited = await Promise.race([
    server.exited.then(() => true),
    delay(STOP_TIMEOUT_MS, false, { ref: false }),
  ]);
  if (!exited) server.child.kill('SIGKILL');
  await server.exited;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The file's content from byte `offset` on; '' if it does not exist. */
async function readFrom(path: string, offset: number): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      await file.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}
