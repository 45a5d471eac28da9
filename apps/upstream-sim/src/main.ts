import pino from 'pino';
import { EnvError, parseSimEnv } from './env.js';
import { startSimulator } from './server.js';

// Process entry point: read the environment once, listen, stop cleanly on SIGTERM/SIGINT.
let parsed: ReturnType<typeof parseSimEnv>;
try {
  parsed = parseSimEnv(process.env);
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  process.stderr.write(`upstream-sim: ${error.message}\n`);
  process.exit(1);
}

const logger = pino({ name: 'upstream-sim', level: parsed.logLevel });
// A test tool must stay up: log stray errors instead of dying on them.
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));

const { options } = parsed;
try {
  const sim = await startSimulator({ ...options, logger });
  logger.info(
    {
      url: sim.url,
      rpm: options.rpm,
      tpm: options.tpm,
      windowMs: options.windowMs,
      latencyMs: options.latencyMs,
      apiKeyRequired: options.apiKey !== undefined,
    },
    'upstream simulator listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void sim.close().then(() => process.exit(0));
  };
  // on, not once: with no listener left, a second signal (relayed by a supervisor, or Ctrl-C pressed
  // twice) would kill the process with the signal instead of letting it exit 0.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (error) {
  logger.fatal({ err: error }, 'could not start the upstream simulator');
  process.exit(1);
}
