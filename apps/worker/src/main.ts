import { ConfigError, createLogger } from '@sluice/core';
import { loadWorkerConfig } from './config.js';
import { startWorker } from './server.js';

/** The worker process: parse config, drain the completions queue, finish in-flight jobs on SIGTERM. */
async function main() {
  let config: ReturnType<typeof loadWorkerConfig>;
  try {
    config = loadWorkerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sluice worker: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger('worker', config.LOG_LEVEL);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const handle = await startWorker(config, log);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down: finishing in-flight jobs');
      handle.close().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err) => {
  process.stderr.write(`sluice worker: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
