/**
 * `mlmon demo` from a fresh clone, as a new user runs it: the repository's files (what `git ls-files`
 * lists, tracked or new and not ignored, as they are in the work tree) copied into an empty temporary
 * folder that has no `../shared` beside it, with this checkout's node_modules linked in (what
 * `npm install` would give), then `bin/mlmon.js demo` run there as a child process against the real
 * Elasticsearch. Before the project carried its data sets (data/), this ended at once with "data set
 * not found: …/shared/datasets/elec.csv" (exit 2).
 *
 * `--rows 1776` is the shortest run the demo accepts: ELEC2's 1,440 reference rows and one weekly
 * window of 336 half-hours (demo.ts: minimumRows), so the demo reads the project's copy of the file,
 * replays it, and analyses one week.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { uniqueNamespace } from '../helpers/es.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('mlmon demo from a fresh clone without ../shared', () => {
  const parent = mkdtempSync(join(tmpdir(), 'mlmon-clone-'));
  const clone = join(parent, 'mlmon');
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('reads the data set the repository carries and analyses the first week', async () => {
    const { stdout: listed } = await run(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      {
        cwd: root,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    for (const file of listed.split('\0').filter(Boolean)) {
      // a file deleted in the work tree but still in the index is not in a clone of this state either
      if (!existsSync(join(root, file))) continue;
      mkdirSync(dirname(join(clone, file)), { recursive: true });
      cpSync(join(root, file), join(clone, file));
    }
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    expect(existsSync(join(parent, '..', 'shared'))).toBe(false);
    expect(existsSync(join(clone, '..', 'shared'))).toBe(false);

    const namespace = uniqueNamespace('fresh');
    const args = ['bin/mlmon.js', 'demo', '--rows', '1776', '--namespace', namespace, '--format', 'json'];
    args.push('--report', join(parent, 'report.html'));
    const env = { ...process.env, ES_URL: inject('esUrl'), KIBANA_URL: '', SMTP_URL: '' };
    const result = await run(process.execPath, args, { cwd: clone, env, maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stdout: string; stderr: string; code: number }) => error,
    );
    expect(result.stderr).not.toMatch(/data set not found/);
    expect('code' in result ? result.code : 0).toBe(0);
    const out = JSON.parse(result.stdout) as { dataset: string; rows: number; counters: { indexed: number } };
    expect(out.dataset).toBe('elec');
    expect(out.rows).toBe(1776);
    // every replayed row is one prediction document (the outcomes are counted apart)
    expect(out.counters.indexed).toBeGreaterThanOrEqual(1776);
  }, 300_000);
});
