/**
 * DESIGN.md: a service that imports the package root or `mlmon/logger` must not load the analyzer,
 * reports, CLI, scheduler, Kibana installer, profiles or statistics. Each import runs in a fresh
 * child process with a resolve hook that records every module URL it loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = pathToFileURL(join(root, 'src/')).href;
// `bridge`: mlmon/winston-elasticsearch loads winston-elasticsearch and the template installer.
const HEAVY = ['analyzer', 'report', 'cli', 'scheduler', 'kibana', 'profiles', 'stats', 'bridge'];

/** URLs of the modules a fresh process resolves while importing `entry` (a path under src/). */
function modulesLoadedBy(entry: string): string[] {
  const log = join(mkdtempSync(join(tmpdir(), 'mlmon-imports-')), 'imports.txt');
  const hook = pathToFileURL(fileURLToPath(new URL('./record-imports.mjs', import.meta.url))).href;
  const script =
    `import { register } from 'node:module';` +
    `register(${JSON.stringify(hook)});` +
    `const m = await import(${JSON.stringify(new URL(entry, src).href)});` +
    `if (typeof m.createPredictionLogger !== 'function') throw new Error('no createPredictionLogger');`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, MLMON_IMPORT_LOG: log },
    encoding: 'utf8',
  });
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.status).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

function heavyModules(urls: string[]): string[] {
  return urls.filter((url) => HEAVY.some((dir) => url.startsWith(`${src}${dir}/`)));
}

describe('light import', () => {
  it('the recorder sees what is loaded: the analyzer entry loads src/analyzer and src/stats', () => {
    // Control: proves the hook records our own modules, so an empty list below means something.
    const script = `import { register } from 'node:module'; register(${JSON.stringify(
      pathToFileURL(fileURLToPath(new URL('./record-imports.mjs', import.meta.url))).href,
    )}); await import(${JSON.stringify(new URL('analyzer/run.ts', src).href)});`;
    const log = join(mkdtempSync(join(tmpdir(), 'mlmon-imports-')), 'imports.txt');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, MLMON_IMPORT_LOG: log },
      encoding: 'utf8',
    });
    expect(child.status).toBe(0);
    const urls = readFileSync(log, 'utf8').split('\n');
    expect(urls.some((u) => u.startsWith(`${src}analyzer/`))).toBe(true);
    expect(urls.some((u) => u.startsWith(`${src}stats/`))).toBe(true);
  });

  it.each([
    ['the package root (src/index.ts)', 'index.ts'],
    ['mlmon/logger (src/logger/index.ts)', 'logger/index.ts'],
  ])('%s loads none of the heavy parts', (_name, entry) => {
    const urls = modulesLoadedBy(entry);
    expect(urls.some((u) => u.startsWith(`${src}logger/`))).toBe(true);
    expect(heavyModules(urls)).toEqual([]);
  });

  it('the package exports map mlmon and mlmon/logger to those two entries', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    expect(pkg.exports['.']?.default).toBe('./dist/index.js');
    expect(pkg.exports['./logger']?.default).toBe('./dist/logger/index.js');
    expect(pkg.exports['./winston-elasticsearch']?.default).toBe('./dist/bridge/winston-elasticsearch.js');
  });
});
