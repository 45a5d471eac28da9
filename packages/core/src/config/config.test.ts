import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envBoolean, envInt, loadConfig, sharedEnv } from './index.js';

const schema = z.object({ ...sharedEnv, PORT: envInt(8080, 0, 65_535), FLAG: envBoolean(false) });

describe('loadConfig', () => {
  it('applies laptop defaults', () => {
    const c = loadConfig(schema, {});
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.PORT).toBe(8080);
    expect(c.FLAG).toBe(false);
    expect(c.ADMIN_TOKEN).toBeUndefined();
  });

  it('treats empty strings as unset and coerces values', () => {
    const c = loadConfig(schema, { PORT: '', FLAG: 'yes', REDIS_URL: 'rediss://r:6380' });
    expect(c.PORT).toBe(8080);
    expect(c.FLAG).toBe(true);
    expect(c.REDIS_URL).toBe('rediss://r:6380');
  });

  it('names every bad variable', () => {
    try {
      loadConfig(schema, { PORT: '70000', REDIS_URL: 'http://x', ADMIN_TOKEN: 'short' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('REDIS_URL');
      expect(message).toContain('ADMIN_TOKEN');
    }
  });
});
