// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers of src/ and what each may import (docs/DESIGN.md, "Shape of the code"). An import of any
 * other layer is a lint error. stats is pure math; schema is names, types and validation; elastic
 * is talking to Elasticsearch (it may use stats to turn an aggregation answer into a statistic);
 * report and kibana sit below scheduler (which runs report jobs). cli and the package root (src/index.ts) may import all.
 *
 * Checked with ESLint's own no-restricted-imports on the import specifier: a relative path that
 * climbs out of the file's directory (`../`, `../../`) and enters another layer's directory. That
 * covers `import`, `import type` and `export … from`; not dynamic `import()`. It relies on no
 * folder below src/<layer>/ being named like a layer.
 */
const LAYERS = {
  stats: [],
  schema: ['stats'],
  elastic: ['schema', 'stats'],
  profiles: ['elastic', 'schema', 'stats'],
  analyzer: ['profiles', 'elastic', 'schema', 'stats'],
  // report renders from results (it reads them through analyzer, profiles and elastic); the
  // scheduler runs report jobs, so it sits above report.
  report: ['analyzer', 'profiles', 'elastic', 'schema', 'stats'],
  kibana: ['analyzer', 'profiles', 'elastic', 'schema', 'stats'],
  scheduler: ['report', 'analyzer', 'profiles', 'elastic', 'schema', 'stats'],
  logger: ['elastic', 'schema'],
  // mlmon/winston-elasticsearch: the bridge for services that log through winston-elasticsearch.
  bridge: ['elastic', 'schema'],
  // mlmon collect: the HTTP ingest service, writing through the logger core.
  collector: ['logger', 'elastic', 'schema'],
  cli: null, // everything
};

/**
 * Development and test tooling (tools/: the local Elasticsearch for tests, benchmarks and `npm run
 * demo`) is not published: nothing in src/ may import it.
 */
const NO_TOOLS = {
  regex: '^(\\.\\./)+tools(/|$)',
  message: 'src/ is published; tools/ (development and test tooling) is not: src may not import it.',
};

const layerRules = Object.entries(LAYERS)
  .filter(([, allowed]) => allowed !== null)
  .map(([layer, allowed]) => {
    const forbidden = Object.keys(LAYERS).filter((other) => other !== layer && !allowed?.includes(other));
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
                message: `src/${layer} may import only ${allowed?.length ? allowed.join(', ') : 'no other layer'} (layers point one way: eslint.config.js, docs/DESIGN.md).`,
              },
              NO_TOOLS,
            ],
          },
        ],
      },
    };
  });

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'packages/*/dist/', 'packages/*/index-templates/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  ...layerRules,
  {
    // the layers that may import every other one (cli, the package root) may not import tools/ either
    files: [
      'src/*.ts',
      ...Object.entries(LAYERS)
        .filter(([, a]) => a === null)
        .map(([l]) => `src/${l}/**/*.ts`),
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_TOOLS] }] },
  },
);
