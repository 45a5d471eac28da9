import { ConfigError, createLogger } from '@sluice/core';
import { loadApiConfig } from './config.js';
import { startApi } from './server.js';

/** The API process: parse config, listen, drain on SIGTERM/SIGINT. */
async function main() {
  let config: ReturnType<typeof loadApiConfig>;
  try {
    config = loadApiConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sluice api: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger('api', config.LOG_LEVEL);
  if (!config.ADMIN_TOKEN) log.warn('ADMIN_TOKEN is unset: the admin API is disabled');
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  if (config.WEBHOOK_ALLOW_PRIVATE_NETWORKS) {
    log.warn('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: webhooks may target private networks (development only)');
  }
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // on, not once: a second signal (e.g. relayed by a supervisor) must not kill a draining process.
    process.on(signal, () => {
      log.info({ signal }, 'shutting down');
      // Whatever happens below, the process ends: a supervisor must never wait on a stuck drain.
      setTimeout(() => {
        log.error('shutdown did not finish in time; exiting');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS + 15_000).unref();
      if (!api) process.exit(0); // nothing started yet, nothing to drain
      api.close().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  api = await startApi(config, log);
}

main().catch((err) => {
  process.stderr.write(`sluice api: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
