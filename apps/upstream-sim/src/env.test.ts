import { describe, expect, it } from 'vitest';
import { EnvError, parseSimEnv } from './env.js';

describe('parseSimEnv', () => {
  it('applies the documented defaults', () => {
    const { options, logLevel } = parseSimEnv({});
    expect(logLevel).toBe('info');
    expect(options).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      apiKey: undefined,
      rpm: 600,
      tpm: 200_000,
      windowMs: 60_000,
      latencyMs: 50,
      latencyJitterMs: 0,
      errorRate: 0,
      hangRate: 0,
      malformedRate: 0,
      truncatedRate: 0,
      seed: 1,
    });
  });

  it('reads every variable and treats empty values as unset', () => {
    const { options } = parseSimEnv({
      PORT: '0',
      SIM_API_KEY: 'secret',
      SIM_RPM: '0',
      SIM_TPM: '',
      SIM_WINDOW_MS: '1000',
      SIM_ERROR_RATE: '0.25',
      SIM_SEED: '42',
    });
    expect(options).toMatchObject({
      port: 0,
      apiKey: 'secret',
      rpm: 0,
      tpm: 200_000,
      windowMs: 1000,
      seed: 42,
    });
    expect(options.errorRate).toBe(0.25);
  });

  it.each([
    ['SIM_RPM', 'lots'],
    ['SIM_ERROR_RATE', '1.5'],
    ['PORT', '70000'],
    ['SIM_WINDOW_MS', '0'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => parseSimEnv({ [name]: value })).toThrow(EnvError);
    expect(() => parseSimEnv({ [name]: value })).toThrow(new RegExp(`Invalid environment variable ${name}:`));
  });
});
