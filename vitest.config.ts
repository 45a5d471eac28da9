import { defineConfig } from 'vitest/config';

// One config for the whole workspace: unit tests sit beside the code (src/**/*.test.ts),
// integration tests under each package's test/ folder. Integration tests start their own
// redis-server and processes, so files run in parallel but with generous timeouts.
export default defineConfig({
  test: {
    include: [
      'tests/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
