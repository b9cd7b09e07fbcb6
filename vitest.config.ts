import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Files run one at a time: several start real servers, workers and load, and timing-based checks (canary
    // analysis, drain) must not fight each other for the machine's two cores.
    fileParallelism: false,
    reporters: ['default'],
  },
});
