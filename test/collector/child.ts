/** `mlmon collect` as a child process (`node --import tsx src/cli/main.ts collect`), for the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sleep } from '../logger/helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts the collector with a config file in `dir` (spool in `dir/spool`, any free port, more
 * `collector` settings from `collector`) and resolves once it listens.
 */
export async function startChild(
  dir: string,
  namespace: string,
  es: string,
  collector: Record<string, unknown> = {},
): Promise<Running> {
  const config = join(dir, 'mlmon.config.json');
  writeFileSync(
    config,
    JSON.stringify({ namespace, collector: { spoolDir: join(dir, 'spool'), port: 0, ...collector } }),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'collect', '--config', config],
    {
      cwd: ROOT,
      env: { ...process.env, ES_URL: es, MLMON_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const match = /listening on (http:\/\/\S+) /.exec(stdout);
    if (match) return { child, url: match[1] as string, stdout: () => stdout, stderr: () => stderr, exited };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`collector did not start: ${stdout} ${stderr}`);
    await sleep(100);
  }
}
