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
  if (config.WEBHOOK_ALLOW_PRIVATE_NETWORKS) {
    log.warn('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: webhooks may target private networks (development only)');
  }
  let handle: Awaited<ReturnType<typeof startWorker>> | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // on, not once: a second signal (e.g. relayed by a supervisor) must not kill a draining process.
    process.on(signal, () => {
      log.info({ signal }, 'shutting down: finishing in-flight jobs');
      // Whatever happens below, the process ends: a supervisor must never wait on a stuck drain.
      setTimeout(() => {
        log.error('shutdown did not finish in time; exiting');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS + 15_000).unref();
      if (!handle) process.exit(0); // nothing started yet, nothing to drain
      handle.close().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  handle = await startWorker(config, log);
}

main().catch((err) => {
  process.stderr.write(`sluice worker: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
