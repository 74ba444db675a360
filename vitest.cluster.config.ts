import { defineConfig } from 'vitest/config';

/**
 * The multi-node tests (`npm run test:cluster`): each file starts an Elasticsearch cluster of its own
 * (three JVMs) besides the single node of the global setup, too heavy to run beside the rest of
 * `npm test` on a small machine. CI runs them as a step of their own (.ci/run).
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
