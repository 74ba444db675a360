/**
 * README "Monitor your own model", run as written: every fenced block of that section whose info
 * string says `checked` (```sh checked, ```ts checked, ```python checked) is taken from README.md
 * and run in a fresh folder against the real Elasticsearch, in the README's order, with `mlmon` on
 * PATH (bin/mlmon.js of this checkout) and `@mlmon/logger` resolved to src/logger. The model name
 * and namespace are made unique per run; nothing else of the text is changed.
 *
 * The data: a synthetic logistic model, score = 1 / (1 + e^-(income − 50,000) / 10,000), label 1
 * when score ≥ 0.5; train.csv 400 rows (income 20,000 … 79,850 in steps of 150), scored.csv two days
 * of 150 predictions (2026-03-02 and 03, one every 9 minutes 36 s) with their truths. Expected counts
 * follow: 300 predictions and outcomes from Python, 1 of each from the Node block.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { testClient, uniqueNamespace } from '../helpers/es.js';

const exec = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The `checked` blocks of the section, in order. */
function checkedBlocks(): Array<{ lang: string; code: string }> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Monitor your own model\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/^( *)```(\w+) checked\n([\s\S]*?)^\1```$/gm)].map((m) => ({
    lang: m[2] as string,
    code: (m[3] as string)
      .split('\n')
      .map((l) => l.slice((m[1] as string).length))
      .join('\n'),
  }));
}

describe('README: Monitor your own model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlmon-readme-'));
  const client = testClient();
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await client.close();
  });

  it('runs every checked block of the section against Elasticsearch', async () => {
    const model = `loan${uniqueNamespace('')}`;
    const namespace = uniqueNamespace('staging');
    const port = String(20_000 + (process.pid % 20_000));
    const blocks = checkedBlocks().map((b) => ({
      ...b,
      code: b.code
        .replaceAll('loan-default', model)
        .replaceAll('staging', namespace)
        .replaceAll('8787', port)
        .replaceAll('@mlmon/logger', join(root, 'src/logger/index.ts')),
    }));
    expect(blocks.map((b) => b.lang)).toEqual(['sh', 'ts', 'sh', 'python', 'sh', 'sh']);

    const score = (income: number) => 1 / (1 + Math.exp(-(income - 50_000) / 10_000));
    const train = ['row_id,income,purpose,prediction.score,prediction.label,actual.label'];
    for (let i = 0; i < 400; i++) {
      const income = 20_000 + 150 * i;
      const s = score(income);
      train.push(
        `${i},${income},${['car', 'home', 'study'][i % 3]},${s},${s >= 0.5 ? 1 : 0},${s >= 0.5 ? 1 : 0}`,
      );
    }
    writeFileSync(join(dir, 'train.csv'), `${train.join('\n')}\n`);
    const scored = ['id,time,income,purpose,score,label,actual'];
    for (let i = 0; i < 300; i++) {
      const income = 20_000 + 200 * i;
      const s = score(income);
      const time = new Date(Date.UTC(2026, 2, 2) + i * 576_000).toISOString();
      const y = s >= 0.5 ? 1 : 0;
      scored.push(`req-${i},${time},${income},${['car', 'home', 'study'][i % 3]},${s},${y},${y}`);
    }
    writeFileSync(join(dir, 'scored.csv'), `${scored.join('\n')}\n`);
    writeFileSync(
      join(dir, 'mlmon'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'bin/mlmon.js')}" "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const env = { ...process.env, ES_URL: inject('esUrl'), PATH: `${dir}:${process.env.PATH ?? ''}` };
    const runIn = (command: string, args: string[]) =>
      exec(command, args, { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 }).catch(
        (e: { stdout: string; stderr: string; code: number }) => {
          throw new Error(`${command} ${args.join(' ')} exited ${e.code}: ${e.stderr}`);
        },
      );

    let collectorPid: number | undefined;
    try {
      for (const block of blocks) {
        if (block.lang === 'sh' && block.code.trim().endsWith('&')) {
          // the collector: started in the background as the README says (its pid from the shell's
          // $!: the mlmon shim execs node), stopped with SIGTERM once the posts are in
          // (the background process keeps the shell's stdout open: read the first line, not to the end)
          const shell = spawn('sh', ['-c', `${block.code.trim()}\necho $!`], {
            cwd: dir,
            env,
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          collectorPid = await new Promise<number>((done) => {
            let text = '';
            shell.stdout.on('data', (c: Buffer) => {
              text += c.toString();
              if (text.includes('\n')) done(Number(text.split('\n')[0]));
            });
          });
          shell.stdout.resume(); // drained, not closed: the collector writes to it
          for (let i = 0; i < 240; i++) {
            const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
              (r) => r.ok,
              () => false,
            );
            if (ready) break;
            await new Promise((r) => setTimeout(r, 500));
          }
        } else if (block.lang === 'sh') await runIn('sh', ['-e', '-c', block.code]);
        else if (block.lang === 'python') {
          writeFileSync(join(dir, 'send.py'), block.code);
          const { stdout } = await runIn('python3', ['send.py']);
          const [predictions, outcomes] = stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l.replaceAll("'", '"')) as { indexed: number });
          expect(predictions?.indexed).toBe(300);
          expect(outcomes?.indexed).toBe(300);
          process.kill(collectorPid as number, 'SIGTERM');
          for (let i = 0; i < 240 && alive(collectorPid as number); i++)
            await new Promise((r) => setTimeout(r, 500));
          collectorPid = undefined;
        } else {
          writeFileSync(join(dir, 'service.mts'), block.code);
          const { stdout } = await exec(process.execPath, ['--import', 'tsx', join(dir, 'service.mts')], {
            cwd: root,
            env,
          });
          expect(stdout).toMatch(/indexed: 2/);
        }
      }
    } finally {
      if (collectorPid !== undefined && alive(collectorPid)) process.kill(collectorPid, 'SIGTERM');
    }
    expect(existsSync(join(dir, `${model}.html`))).toBe(true);
    await client.indices.refresh({ index: `logs-mlmon.*-${namespace}` });
    const count = async (stream: string) =>
      (
        await client.count({
          index: `logs-mlmon.${stream}-${namespace}`,
          query: { term: { 'model.name': model } },
        })
      ).count;
    expect(await count('prediction')).toBe(301);
    expect(await count('outcome')).toBe(301);
  }, 400_000);
});
