import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Multi-node tests start clusters of their own: `npm run test:cluster` (vitest.cluster.config.ts).
    exclude: ['test/cluster/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one Elasticsearch; files use their own namespaces so they can run in parallel.
    fileParallelism: true,
    reporters: ['default'],
  },
});
