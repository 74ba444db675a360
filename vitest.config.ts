import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take minutes (each starts Elasticsearch nodes of its own, replays a whole data set or
 * generates 11,000 hostile events), longest first as measured in CI (2-core machine): started
 * before the rest, so that no long file is left to run alone at the end. Vitest's own order puts
 * the longest first once it has timings (node_modules/.vite), but a fresh clone has none.
 */
const LONG_FILES = [
  'test/logger/outage.test.ts',
  'test/package/packed.test.ts',
  'test/analyzer/elec.test.ts',
  'test/performance/estimated-elec.test.ts',
  'test/logger/property.test.ts',
  'test/logger/fresh-cluster.test.ts',
  'test/cli/commands.test.ts',
  'test/cli/hostile.test.ts',
  'test/demo/demo.test.ts',
  'test/scheduler/replicas.test.ts',
];

class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONG_FILES.findIndex((name) => f.moduleId.endsWith(name));
      return i === -1 ? LONG_FILES.length : i;
    };
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Multi-node tests start clusters of their own: `npm run test:cluster` (vitest.cluster.config.ts).
    // test/security needs a secured node: `npm run test:security` (MLMON_ES_SECURITY=1) or an https ES_URL.
    exclude: [
      'test/cluster/**',
      'node_modules/**',
      ...(process.env.MLMON_ES_SECURITY === '1' || process.env.ES_URL?.startsWith('https:')
        ? []
        : ['test/security/**']),
    ],
    globalSetup: ['test/global-setup.ts'],
    // Generous: with 3 files at a time on 2 cores a test waits longer for the CPU than alone (a limit,
    // not a timing assertion; a test that needs more says so).
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Integration tests share one Elasticsearch; files use their own namespaces so they can run in
    // parallel. Most of a file's time is spent waiting (for Elasticsearch, a child process, a
    // restart), not computing: on 2 cores Vitest's default (cores − 1 = 1 worker) ran the files one
    // after another with the CPU half idle, so at least 3 files run at a time.
    fileParallelism: true,
    maxWorkers: Math.max(3, availableParallelism() - 1),
    sequence: { sequencer: LongFilesFirst },
    reporters: ['default'],
  },
});
