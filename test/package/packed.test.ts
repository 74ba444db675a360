/**
 * The packages as a user gets them, on every Node line mlmon says it runs on (package.json
 * "engines"): `npm pack` of the repository (`mlmon`, the whole toolkit, built by its `prepack`) and
 * of packages/logger (`@mlmon/logger`, what a service imports), each installed from its tarball
 * into a fresh project (npm's cache serves what it already holds; the registry the rest). Then, with
 * each Node binary: a service script in the logger's project imports the logger and its winston
 * transport, and logs to the real Elasticsearch (checked by
 * counting the documents there); the toolkit's `mlmon` bin runs `setup` against it and the package
 * root imports.
 *
 * The Node lines: the one running this test (CI's), and 22 and 24, the current LTS lines, fetched as
 * the npm `node` package (a Node binary shipped through the npm registry) into a cache folder
 * beside the temporary files, reused by later runs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testClient, uniqueNamespace } from '../helpers/es.js';

const exec = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The LTS lines fetched from the npm registry; the running Node is tested beside them. */
const LTS_LINES = ['22', '24'];

/** The environment a user's shell has: none of the npm_* variables of the `npm test` around us. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
);
delete userEnv.INIT_CWD;

async function sh(command: string, args: string[], cwd: string, node = process.execPath) {
  // npm and npx run under the Node at the front of PATH: the one under test when one is given
  const env = { ...userEnv, PATH: `${dirname(node)}:${userEnv.PATH ?? ''}` };
  return exec(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
}

const npmInstall = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** A Node binary of one major line, from the npm `node` package, cached across runs. */
async function nodeBinary(major: string): Promise<string> {
  const prefix = join(tmpdir(), 'mlmon-test-node', major);
  const binary = join(prefix, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    await sh('npm', [...npmInstall, '--prefix', prefix, `node@${major}`], prefix);
  }
  return binary;
}

/** Megabytes and package count of a project's node_modules (what `npm install` put on disk). */
function footprint(project: string): { megabytes: number; packages: number } {
  let bytes = 0;
  let packages = 0;
  const isPackage = (path: string) => {
    const parent = dirname(path);
    const inModules = (dir: string) => dir.endsWith('/node_modules');
    return (
      existsSync(join(path, 'package.json')) &&
      (inModules(parent) || (inModules(dirname(parent)) && parent.split('/').pop()?.startsWith('@')))
    );
  };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (isPackage(path)) packages++;
        walk(path);
      } else if (entry.isFile()) bytes += statSync(path).size;
    }
  };
  walk(join(project, 'node_modules'));
  return { megabytes: Math.round(bytes / 1e5) / 10, packages };
}

const SERVICE = `
import { createPredictionLogger, MlmonTransport } from '@mlmon/logger';
import winston from 'winston';

const [node, namespace] = process.argv.slice(2);
const model = { name: 'packaged', version: process.versions.node.split('.')[0] };
const logger = createPredictionLogger({ node, namespace, model });
const id = logger.logPrediction({ features: { amount: 12.5, country: 'de' }, prediction: { label: '1', score: 0.9 } });
logger.logOutcome({ id, actual: { label: '0' } });
const direct = await logger.close({ timeoutMs: 60_000 });

const transport = new MlmonTransport({ node, namespace, model });
const service = winston.createLogger({ transports: [transport] });
service.info('scored', { features: { amount: 3, country: 'fr' }, prediction: { label: '0', score: 0.2 } });
service.info('an ordinary log line, not a prediction');
const viaWinston = await transport.close({ timeoutMs: 60_000 });
console.log(JSON.stringify({ version: process.version, direct, viaWinston }));
`;

describe('the packed packages installed into fresh projects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlmon-pack-'));
  const service = join(dir, 'service');
  const tool = join(dir, 'tool');
  const namespace = uniqueNamespace('pkg');
  const client = testClient();
  const nodes: Record<string, string> = { [process.versions.node.split('.')[0] ?? '']: process.execPath };

  beforeAll(async () => {
    // npm pack runs prepack: the build from src/ (tsc), as for `npm publish`
    const packed = async (cwd: string) => {
      const { stdout } = await sh('npm', ['pack', '--loglevel=error', '--pack-destination', dir], cwd);
      return join(dir, stdout.trim().split('\n').pop() ?? '');
    };
    const toolkit = await packed(root);
    const logger = await packed(join(root, 'packages', 'logger'));
    for (const [project, args] of [
      [service, [logger, 'winston@3']],
      [tool, [toolkit]],
    ] as const) {
      mkdirSync(project);
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'user', private: true, type: 'module' }),
      );
      await sh('npm', [...npmInstall, ...args], project);
    }
    writeFileSync(join(service, 'service.mjs'), SERVICE);
    for (const major of LTS_LINES) nodes[major] ??= await nodeBinary(major);
    // the figures of the issue: "just the logger" against the whole toolkit
    console.log('install footprint', { logger: footprint(service), toolkit: footprint(tool) });
  }, 600_000);

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await client.close();
  });

  it('the logger package leaves the heavy machinery out', () => {
    const installed = readdirSync(join(service, 'node_modules'));
    for (const heavy of ['vega', 'vega-lite', 'fastify', 'nodemailer', 'winston-elasticsearch', 'node-cron'])
      expect(installed).not.toContain(heavy);
    expect(existsSync(join(service, 'node_modules', '@resvg'))).toBe(false);
    expect(existsSync(join(service, 'node_modules', '@mlmon', 'logger', 'dist', 'logger', 'index.js'))).toBe(
      true,
    );
  });

  it.each([process.versions.node.split('.')[0] ?? '', ...LTS_LINES])(
    'Node %s: logs through the logger and the winston transport, and runs the mlmon bin',
    async (major) => {
      const node = nodes[major] ?? process.execPath;
      const esUrl = inject('esUrl');
      const { stdout: version } = await sh(node, ['--version'], tool, node);
      expect(version.trim()).toMatch(new RegExp(`^v${major}\\.`));

      const { stdout: setup } = await sh(
        node,
        ['node_modules/.bin/mlmon', 'setup', '--format', 'json'],
        tool,
        node,
      ).catch((e: { stdout: string; stderr: string }) => {
        throw new Error(`mlmon setup failed: ${e.stderr}`);
      });
      expect(() => JSON.parse(setup) as unknown).not.toThrow();
      const toolkitRoot = `import('mlmon').then((m) => console.log(typeof m.createPredictionLogger))`;
      expect((await sh(node, ['--input-type=module', '-e', toolkitRoot], tool, node)).stdout.trim()).toBe(
        'function',
      );

      const { stdout } = await sh(node, ['service.mjs', esUrl, namespace], service, node);
      const result = JSON.parse(stdout) as {
        version: string;
        direct: { indexed: number; pending: number; dropped: number };
        viaWinston: { indexed: number; pending: number; dropped: number };
      };
      expect(result.version).toMatch(new RegExp(`^v${major}\\.`));
      // a prediction and its outcome through the logger; one prediction through winston (the
      // ordinary log line is not one)
      expect(result.direct).toMatchObject({ indexed: 2, pending: 0, dropped: 0 });
      expect(result.viaWinston).toMatchObject({ indexed: 1, pending: 0, dropped: 0 });
      await client.indices.refresh({ index: `logs-mlmon.*-${namespace}` });
      const count = async (stream: string) =>
        (
          await client.count({
            index: `logs-mlmon.${stream}-${namespace}`,
            query: { term: { 'model.version': major } },
          })
        ).count;
      expect(await count('prediction')).toBe(2);
      expect(await count('outcome')).toBe(1);
    },
    300_000,
  );
});
