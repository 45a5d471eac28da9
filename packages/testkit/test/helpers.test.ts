import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getFreePort, randomPrefix, repoRoot, tsxBin, waitFor } from '../src/index.js';

describe('waitFor', () => {
  it('resolves once the condition holds', async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, { intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it('throws the message on timeout, quoting the last error', async () => {
    const failing = waitFor(
      async () => {
        throw new Error('not yet');
      },
      { timeoutMs: 50, intervalMs: 5, message: 'the queue to drain' },
    );
    await expect(failing).rejects.toThrow(/waiting for the queue to drain \(last error: Error: not yet\)/);
  });
});

describe('randomPrefix', () => {
  it('is unique, labelled and safe for Redis keys and BullMQ queue names', () => {
    const a = randomPrefix('webhooks');
    expect(a).toMatch(/^webhooks-[a-z0-9]+-[0-9a-f]{8}$/);
    expect(randomPrefix('webhooks')).not.toBe(a);
    expect(randomPrefix('a:b c')).toMatch(/^a-b-c-/);
  });
});

describe('getFreePort', () => {
  it('returns a usable port', async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
  });
});

describe('paths', () => {
  it('point at the repo root and its tsx binary', () => {
    expect(existsSync(join(repoRoot, 'pnpm-workspace.yaml'))).toBe(true);
    expect(existsSync(tsxBin)).toBe(true);
  });
});
