import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths that may carry secrets or prompt content. Pino replaces them with [redacted], so a
 * careless `log.info({ req })` cannot leak an API key or a prompt.
 */
const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'messages',
  '*.messages',
  'body',
  '*.body',
  'prompt',
  '*.prompt',
  'response',
  '*.response',
];

/** The process logger: JSON lines on stdout, secrets and prompts redacted. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}
