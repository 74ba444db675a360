/**
 * `mlmon compare` on a large CSV: `npm run bench:compare` (no Elasticsearch needed).
 *
 * Writes a CSV of BENCH_ROWS rows (default 1,200,000; about 50 MB) and 6 columns into a temporary
 * directory — 4 numeric (normal, exponential, uniform, integer), 2 categorical (10 and 1,000
 * labels) — and compares it against itself, each run in a child process of its own (peak RSS from
 * `/usr/bin/time -f %M`, wall time around the process):
 *
 * - whole (the baseline: how compare read files before issue 21): `readTable` of both files
 *   (the text, csv-parse's rows, a string cell per value) then `compareTables`, in
 *   bench/compare-whole.ts;
 * - streaming (the command as shipped): `mlmon compare --format json`.
 *
 * Then both against a current file whose last column is named differently: the time to the error
 * (the streaming command checks the headers before reading rows). The two JSON results are checked
 * to be identical (the streaming path is exact, not an approximation).
 *
 * BENCH_RUNS (default 2) rounds, each running whole then streaming.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { seededRandom } from '../test/helpers/random.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);

async function writeCsv(path: string, header: string): Promise<void> {
  const random = seededRandom(42);
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  let chunk = '';
  for (let i = 0; i < ROWS; i++) {
    chunk += `${(50 + 10 * normal()).toFixed(4)},${(-Math.log(1 - random()) * 3).toFixed(4)},${random().toFixed(5)},${Math.floor(random() * 100_000)},c${Math.floor(random() * 10)},u${Math.floor(random() * 1000)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

interface Run {
  ms: number;
  rssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function timed(args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB %M', process.execPath, '--import', 'tsx', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const ms = performance.now() - t0;
  const kb = Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1] ?? Number.NaN);
  return {
    ms,
    rssMb: kb / 1024,
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr.replace(/MAXRSS_KB \d+\n?/, '').trim(),
  };
}

const f = (x: number, d = 0) => x.toFixed(d);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mlmon-bench-compare-'));
  try {
    const file = join(dir, 'data.csv');
    const other = join(dir, 'other.csv');
    await writeCsv(file, 'normal,expo,uniform,integer,cat10,cat1000');
    await writeCsv(other, 'normal,expo,uniform,integer,cat10,renamed');
    const size = (await stat(file)).size;
    console.log(
      `mlmon compare bench: ${ROWS.toLocaleString('en')} rows x 6 columns, ${f(size / 1e6, 1)} MB; ${cpus().length} cpus, ${f(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    );
    const whole = ['bench/compare-whole.ts'];
    const streaming = ['src/cli/main.ts', 'compare', '--format', 'json'];
    for (let round = 1; round <= RUNS; round++) {
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(' ');
      const a = timed([...whole, file, file]);
      const b = timed([...streaming, '--reference', file, '--current', file]);
      if (a.code !== 0 || b.code !== 0) throw new Error(`a run failed: ${a.stderr} ${b.stderr}`);
      const same =
        JSON.stringify(JSON.parse(a.stdout).features) === JSON.stringify(JSON.parse(b.stdout).features);
      console.log(
        `round ${round} (load ${load}): whole ${f(a.ms)} ms, ${f(a.rssMb)} MB peak RSS; streaming ${f(b.ms)} ms, ${f(b.rssMb)} MB; time ${f(b.ms / a.ms, 2)}x, RSS ${f(b.rssMb / a.rssMb, 3)}x; results identical: ${same}`,
      );
      const c = timed([...whole, file, other]);
      const d = timed([...streaming, '--reference', file, '--current', other]);
      console.log(
        `round ${round}: different columns: whole exit ${c.code} after ${f(c.ms)} ms, streaming exit ${d.code} after ${f(d.ms)} ms (${f(d.ms / c.ms, 3)}x): ${d.stderr.split('\n')[0]}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
