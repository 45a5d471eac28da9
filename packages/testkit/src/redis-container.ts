// Docker fallback for machines without a redis-server binary. Imported lazily by startRedis so that the
// usual path never loads testcontainers. Docker's own restart keeps the container's /data, so the AOF
// survives kill() + restart() here too; the host port is fixed so the URL stays valid.
import type { StartedTestContainer } from 'testcontainers';
import { getFreePort } from './ports.js';
import {
  type RedisServerHandle,
  redisConfigArgs,
  type StartRedisOptions,
  tailLines,
} from './redis-config.js';
import { probeRedis } from './redis-ping.js';
import { waitFor } from './wait.js';

const IMAGE = 'redis:7';
const DATA_DIR = '/data';
const LOG_FILE = `${DATA_DIR}/redis.log`;
const PORT_ATTEMPTS = 3;

/** Undefined when a container runtime is usable, otherwise why not. */
export async function containerRuntimeProblem(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function startRedisContainer(options: StartRedisOptions): Promise<RedisServerHandle> {
  const { GenericContainer, getContainerRuntimeClient } = await import('testcontainers');
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const command = [
    'redis-server',
    '--protected-mode',
    'no',
    '--logfile',
    LOG_FILE,
    ...redisConfigArgs(options, DATA_DIR),
  ];

  let started: StartedTestContainer | undefined;
  let port = 0;
  for (let attempt = 1; !started; attempt++) {
    port = options.port ?? (await getFreePort());
    try {
      started = await new GenericContainer(IMAGE)
        .withCommand(command)
        .withExposedPorts({ container: 6379, host: port })
        .withStartupTimeout(readyTimeoutMs)
        .start();
    } catch (err) {
      const collided = err instanceof Error && /already (allocated|in use)/i.test(err.message);
      if (options.port !== undefined || !collided || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
  const container = started;
  const host = container.getHost();
  const docker = (await getContainerRuntimeClient()).container.getById(container.getId());
  const waitReady = () =>
    waitFor(async () => (await probeRedis(host, port)) !== undefined, {
      timeoutMs: readyTimeoutMs,
      message: `redis container on ${host}:${port} to answer PING`,
    });
  await waitReady();

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    dir: DATA_DIR,
    kind: 'container',
    async logs() {
      try {
        const { output } = await container.exec(['tail', '-n', '200', LOG_FILE]);
        return tailLines(output);
      } catch (err) {
        return `(logs unavailable: ${err instanceof Error ? err.message : String(err)})`;
      }
    },
    stop() {
      stopping ??= container.stop({ timeout: 10_000 }).then(() => undefined);
      return stopping;
    },
    async kill() {
      if (!(await docker.inspect()).State.Running) return;
      await docker.kill({ signal: 'SIGKILL' });
      await docker.wait();
    },
    async restart() {
      if (stopping) throw new Error('startRedis: restart() after stop() is not possible; the data is gone');
      await container.restart({ timeout: 10_000 });
      await waitReady();
    },
    async pause(durationMs) {
      await docker.pause();
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      await docker.unpause();
    },
  };
}
