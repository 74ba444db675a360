import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one Elasticsearch; files use their own namespaces so they can run in parallel.
    fileParallelism: true,
    reporters: ['default'],
  },
});
