/**
 * Layers point one way (docs/DESIGN.md, "Shape of the code"; the rule is in eslint.config.js). Runs
 * the project's own ESLint configuration on probe sources placed (in name only, nothing is written)
 * in each layer, and on the real src/. And no two files of src/ import each other, directly or
 * round a longer circle, whatever their layer (import-graph.ts).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph, readTree } from './import-graph.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Only the layer rule: the other rules are `npm run lint`'s business, and running them all over
// src/ would only make this test slower.
const eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' });

/** Messages of the layer rule for `source` linted as if it were the file `path`. */
async function layerErrors(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${root}/${path}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const probe = (specifier: string) => `import * as m from '${specifier}';\nexport const probe = m;\n`;

describe('layer rule', () => {
  // [file, import that must be refused] — one for each edge the brief forbids.
  const refused: Array<[string, string]> = [
    ['src/stats/drift/probe.ts', '../../schema/streams.js'],
    ['src/stats/probe.ts', '../elastic/aggs.js'],
    ['src/schema/probe.ts', '../elastic/aggs.js'],
    ['src/schema/probe.ts', '../profiles/profile.js'],
    ['src/elastic/probe.ts', '../profiles/profile.js'],
    ['src/elastic/probe.ts', '../analyzer/job.js'],
    ['src/elastic/probe.ts', '../logger/index.js'],
    ['src/profiles/probe.ts', '../analyzer/evaluate.js'],
    ['src/analyzer/probe.ts', '../scheduler/state.js'],
    ['src/analyzer/probe.ts', '../logger/core.js'],
    ['src/scheduler/jobs/probe.ts', '../../cli/main.js'],
    ['src/report/probe.ts', '../scheduler/index.js'],
    ['src/kibana/probe.ts', '../scheduler/state.js'],
    ['src/report/probe.ts', '../cli/main.js'],
    ['src/bridge/probe.ts', '../analyzer/job.js'],
    ['src/kibana/probe.ts', '../cli/io.js'],
    ['src/logger/probe.ts', '../analyzer/job.js'],
    ['src/logger/probe.ts', '../profiles/store.js'],
    ['src/logger/probe.ts', '../stats/index.js'],
    ['src/collector/probe.ts', '../analyzer/job.js'],
    ['src/collector/probe.ts', '../cli/io.js'],
    ['src/logger/probe.ts', '../collector/server.js'],
  ];
  it.each(refused)('%s may not import %s', async (path, specifier) => {
    const errors = await layerErrors(path, probe(specifier));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('layers point one way');
  });

  it('refuses type-only imports and re-exports too', async () => {
    expect(
      await layerErrors(
        'src/elastic/probe.ts',
        "import type { X } from '../analyzer/job.js';\nexport type Y = X;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors('src/elastic/probe.ts', "export { analyze } from '../analyzer/job.js';\n"),
    ).toHaveLength(1);
  });

  const allowed: Array<[string, string]> = [
    ['src/stats/drift/probe.ts', '../index.js'],
    ['src/schema/probe.ts', '../stats/index.js'],
    ['src/elastic/probe.ts', '../schema/streams.js'],
    ['src/elastic/probe.ts', '../stats/correlation.js'],
    ['src/profiles/probe.ts', '../elastic/aggs.js'],
    ['src/analyzer/probe.ts', '../profiles/profile.js'],
    ['src/scheduler/jobs/probe.ts', '../../analyzer/job.js'],
    ['src/scheduler/jobs/probe.ts', '../../report/index.js'],
    ['src/report/probe.ts', '../analyzer/results.js'],
    ['src/kibana/probe.ts', '../schema/streams.js'],
    ['src/bridge/probe.ts', '../elastic/templates.js'],
    ['src/logger/probe.ts', '../elastic/client.js'],
    ['src/cli/commands/probe.ts', '../../logger/index.js'],
    ['src/cli/probe.ts', '../scheduler/index.js'],
    ['src/collector/probe.ts', '../logger/core.js'],
    ['src/cli/commands/probe.ts', '../../collector/server.js'],
  ];
  it.each(allowed)('%s may import %s', async (path, specifier) => {
    expect(await layerErrors(path, probe(specifier))).toEqual([]);
  });

  it('src/ as it is breaks no layer', { timeout: 180_000 }, async () => {
    const results = await eslint.lintFiles(['src']);
    const violations = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === 'no-restricted-imports')
        .map((m) => `${r.filePath}: ${m.message}`),
    );
    expect(results.length).toBeGreaterThan(50); // the files were really linted (src/ holds ~90)
    expect(violations).toEqual([]);
  });
});

describe('no import circles between files', () => {
  const p = (name: string) => join('/probe', name);
  const circlesOf = (files: Record<string, string>) =>
    importCircles(
      importGraph(new Map(Object.entries(files).map(([name, text]) => [p(name), text]))),
      '/probe',
    );

  it('finds a two-file circle made of type-only imports (the former scheduler/jobs.ts ⇄ metrics.ts)', () => {
    expect(
      circlesOf({
        'jobs.ts':
          "import type { SchedulerMetrics } from './metrics.js';\nexport type A = SchedulerMetrics;\n",
        'metrics.ts': "import type { A } from './jobs.js';\nexport class SchedulerMetrics { a?: A }\n",
      }),
    ).toEqual([['jobs.ts', 'metrics.ts']]);
  });

  it('finds a longer circle through a re-export and across folders, and a self-import', () => {
    expect(
      circlesOf({
        'a/x.ts': "export { y } from '../b/y.js';\nexport const x = 1;\n",
        'b/y.ts': "import { z } from './z.js';\nexport const y = z;\n",
        'b/z.ts': "import { x } from '../a/x.js';\nexport const z = x;\n",
        'c.ts': "import { c } from './c.js';\nexport { c };\n",
        'leaf.ts': "import { x } from './a/x.js';\nexport const leaf = x;\n",
      }).sort(),
    ).toEqual([['a/x.ts', 'b/y.ts', 'b/z.ts'], ['c.ts']]);
  });

  it('counts neither dynamic import() nor packages, and a chain without a way back is no circle', () => {
    expect(
      circlesOf({
        'main.ts':
          "import { a } from './a.js';\nexport const load = () => import('./cmd.js');\nexport { a };\n",
        'cmd.ts':
          "import { a } from './main.js';\nimport { Client } from '@elastic/elasticsearch';\nexport { a, Client };\n",
        'a.ts': 'export const a = 1;\n',
      }),
    ).toEqual([]);
  });

  it('src/ as it is has none', () => {
    const sources = readTree(join(root, 'src'));
    const graph = importGraph(sources);
    expect(sources.size).toBeGreaterThan(100); // src/ really read (it holds ~140 files)
    // and its edges really resolved: scheduler/metrics.ts imports the job contract
    expect(graph.get(join(root, 'src/scheduler/metrics.ts'))).toContain(
      join(root, 'src/scheduler/jobs/contract.ts'),
    );
    expect(importCircles(graph, root)).toEqual([]);
  });
});
