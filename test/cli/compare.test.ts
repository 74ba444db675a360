/**
 * `mlmon compare` on small files written to a temp dir (expected figures hand-worked or from
 * scipy 1.17.1, with the Python that produced them), and once on the ELEC2 data set.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { readDataText } from '../../src/cli/demo/dataset.js';
import { DEMO_DATASETS, demoDataPath } from '../../src/cli/demo/datasets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCommand, type CompareResult } from '../../src/cli/commands/compare.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await compareCommand(argv, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

async function runJson(argv: string[]): Promise<CompareResult> {
  const r = await run([...argv, '--format', 'json']);
  // These files are small: the only stderr is the small-sample note (issue 21), one per file.
  expect(r.err.replace(/^note: the (reference|current file) has \d+ rows?: .*\n/gm, '')).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as CompareResult;
}

function close(actual: number | null | undefined, expected: number, rel = 1e-12): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-300);
}

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlmon-compare-'));
  await writeFile(file('ref.csv'), 'x,color,target\n1,red,0\n2,red,1\n3,blue,0\n4,blue,1\n5,green,0\n');
  await writeFile(
    file('cur.csv'),
    'x,color,target\n6,red,0\n7,blue,1\n8,blue,1\n9,green,1\n10,purple,1\n11,,0\n',
  );
  await writeFile(file('empty.csv'), '');
  await writeFile(file('header-only.csv'), 'x,color,target\n');
  await writeFile(file('other-cols.csv'), 'x,colour,target\n1,red,0\n');
  await writeFile(
    file('ref.jsonl'),
    [
      { n: 1, s: 'a', m: 1 },
      { n: 2, s: 'b', m: null },
      { n: 3, s: 'a', m: 2 },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n') + '\n',
  );
  await writeFile(
    file('cur.jsonl'),
    [
      { n: 2, s: 'a', m: 'n/a' },
      { n: 3, s: 'c' },
      { n: null, s: 'a', m: 3 },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mlmon compare: usage and errors', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: mlmon compare --reference <file> --current <file>');
  });

  it('a missing option or a bad format is a usage error (exit 2)', async () => {
    const a = await run(['--current', file('cur.csv')]);
    expect(a.code).toBe(2);
    expect(a.err).toContain('--reference <file> is required');
    const b = await run(['--reference', file('ref.csv'), '--current', file('cur.csv'), '--format', 'xml']);
    expect(b.code).toBe(2);
    expect(b.err).toContain('--format: must be table or json, not "xml"');
    expect((await run(['--bogus'])).code).toBe(2);
  });

  it('a missing file is an input error naming the side and the path (exit 1)', async () => {
    const r = await run(['--reference', file('nope.csv'), '--current', file('cur.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`reference: file not found: ${file('nope.csv')}`);
  });

  it('an empty file and a header-only file are input errors', async () => {
    const a = await run(['--reference', file('ref.csv'), '--current', file('empty.csv')]);
    expect(a.code).toBe(1);
    expect(a.err).toContain('current: file is empty');
    const b = await run(['--reference', file('header-only.csv'), '--current', file('cur.csv')]);
    expect(b.code).toBe(1);
    expect(b.err).toContain('no data rows');
  });

  it('mismatched columns are reported by name', async () => {
    const r = await run(['--reference', file('ref.csv'), '--current', file('other-cols.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('only in reference: color; only in current: colour');
  });
});

describe('mlmon compare: figures on small files', () => {
  it('numeric, categorical and target columns in the exact JSON shape', async () => {
    const res = await runJson(['--reference', file('ref.csv'), '--current', file('cur.csv')]);
    expect(res.reference.count).toBe(5);
    expect(res.current.count).toBe(6);
    expect(res.features.map((f) => [f.name, f.kind])).toEqual([
      ['x', 'numeric'],
      ['color', 'categorical'],
      ['target', 'numeric'],
    ]);
    const [x, color, target] = res.features;

    // x: disjoint samples. KS statistic 1; exact p = 2 / C(11,5) = 2/462 (only the two extreme
    // orderings). W1 of two ordered disjoint samples = difference of means = 8.5 − 3 = 5.5;
    // reference std (ddof 0) of 1..5 = √2.
    expect(x?.missing_rate).toBe(0);
    expect(x?.stats.ks).toBe(1);
    close(x?.stats.ks_pvalue, 2 / 462);
    close(x?.stats.wasserstein, 5.5 / Math.SQRT2);
    expect(x?.stats.psi).toBeGreaterThan(5);
    expect(x).toMatchObject({ method: 'ks', threshold: 0.05, drift: true });
    close(x?.score, 2 / 462);

    // color: 1 of 6 cells empty → missing_rate 1/6; table [[2,2,1,0],[1,2,1,1]] (red, blue, green, purple)
    // python3 -c "from scipy import stats; from scipy.spatial.distance import jensenshannon; c=stats.chi2_contingency([[2,2,1,0],[1,2,1,1]],correction=False); print(repr(c.statistic), c.dof, repr(c.pvalue), repr(jensenshannon([2,2,1,0],[1,2,1,1],base=2)))"
    close(color?.missing_rate, 1 / 6);
    close(color?.stats.chi2_pvalue, 0.7212333746277604, 1e-10);
    close(color?.stats.js, 0.3528615164390318);
    expect(color).toMatchObject({ method: 'chi2', drift: false, severity: 'none' });
    close(color?.stats.unseen_category_rate, 1 / 5);

    // target is an ordinary numeric feature
    // python3 -c "from scipy import stats; k=stats.ks_2samp([0,1,0,1,0],[0,1,1,1,1,0]); print(repr(k.statistic), repr(k.pvalue))"
    close(target?.stats.ks, 0.26666666666666666);
    close(target?.stats.ks_pvalue, 0.9653679653679655, 1e-10);
    expect(target?.drift).toBe(false);

    expect(res.drifted).toBe(1);
    close(res.drift_share, 1 / 3);
  });

  it('--categorical and --exclude', async () => {
    const res = await runJson([
      '--reference',
      file('ref.csv'),
      '--current',
      file('cur.csv'),
      '--categorical',
      'target',
      '--exclude',
      'color',
    ]);
    expect(res.features.map((f) => [f.name, f.kind])).toEqual([
      ['x', 'numeric'],
      ['target', 'categorical'],
    ]);
    // target as categories: [[3,2],[2,4]] → chi-square on a 2×2 table
    // python3 -c "from scipy import stats; c=stats.chi2_contingency([[3,2],[2,4]],correction=False); print(repr(c.pvalue))"
    const t = res.features[1];
    expect(t?.method).toBe('chi2');
    close(t?.stats.chi2_pvalue, 0.37646236576763803, 1e-10);
    expect(t?.drift).toBe(false);
    expect(res.drift_share).toBe(0.5);
  });

  it('JSONL: nulls and absent keys are missing; a non-numeric string makes a column categorical', async () => {
    const res = await runJson(['--reference', file('ref.jsonl'), '--current', file('cur.jsonl')]);
    const byName = Object.fromEntries(res.features.map((f) => [f.name, f]));
    expect(byName.n?.kind).toBe('numeric');
    close(byName.n?.missing_rate, 1 / 3);
    expect(byName.s?.kind).toBe('categorical');
    expect(byName.m?.kind).toBe('categorical'); // 'n/a' in current
    close(byName.m?.missing_rate, 1 / 3); // absent key in row 2
    close(byName.m?.reference_missing_rate, 1 / 3); // null in row 2
  });

  it('a feature missing everywhere in current is reported without statistics', async () => {
    await writeFile(file('cur-missing.csv'), 'x,color,target\n1,,0\n2,,1\n');
    const res = await runJson(['--reference', file('ref.csv'), '--current', file('cur-missing.csv')]);
    const color = res.features.find((f) => f.name === 'color');
    expect(color).toMatchObject({ missing_rate: 1, method: null, score: null, drift: false });
    expect(color?.note).toBe('every value is missing in the current file');
  });

  it('table format: aligned columns and a summary line', async () => {
    const r = await run(['--reference', file('ref.csv'), '--current', file('cur.csv')]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const header = lines.find((l) => l.startsWith('feature'));
    const xRow = lines.find((l) => l.startsWith('x '));
    expect(header).toBeDefined();
    expect(xRow).toContain('DRIFT');
    // numeric columns are right-aligned to the header: 'threshold' column ends at the same offset
    const end = (header as string).indexOf('threshold') + 'threshold'.length;
    expect((xRow as string).slice(0, end).endsWith('0.05')).toBe(true);
    expect(r.out).toContain('1 of 3 features drifted (33.3%)');
  });
});

describe('mlmon compare on ELEC2 (data/elec.csv.gz)', () => {
  it('flags Victoria price and demand: first 4 weeks against rows 20000–21343', async () => {
    const lines = readDataText(demoDataPath(DEMO_DATASETS.elec)).split('\n');
    const header = lines[0] as string;
    // data row i is lines[i + 1]
    await writeFile(file('elec-ref.csv'), [header, ...lines.slice(1, 1345)].join('\n') + '\n');
    await writeFile(file('elec-cur.csv'), [header, ...lines.slice(20001, 21345)].join('\n') + '\n');
    const res = await runJson(['--reference', file('elec-ref.csv'), '--current', file('elec-cur.csv')]);
    expect(res.reference.count).toBe(1344);
    expect(res.current.count).toBe(1344);
    const f = Object.fromEntries(res.features.map((x) => [x.name, x]));
    // Independent figures:
    // python3 -c "import numpy as np; from scipy import stats; r=np.genfromtxt('elec-ref.csv',delimiter=',',names=True); c=np.genfromtxt('elec-cur.csv',delimiter=',',names=True); [print(k, repr(float(stats.ks_2samp(r[k],c[k]).statistic)), repr(float(stats.ks_2samp(r[k],c[k]).pvalue)), repr(float(stats.wasserstein_distance(r[k],c[k])/max(np.std(r[k]),0.001)))) for k in r.dtype.names]"
    for (const name of ['feat_4', 'feat_5']) {
      expect(f[name]).toMatchObject({ kind: 'numeric', method: 'wasserstein', threshold: 0.1, drift: true });
    }
    close(f.feat_4?.stats.ks, 0.9010416666666666);
    close(f.feat_4?.stats.wasserstein, 1.087229910714286, 1e-9);
    close(f.feat_5?.stats.ks, 0.6480654761904762);
    close(f.feat_5?.stats.ks_pvalue, 2.2099089841081294e-266, 1e-8);
    close(f.feat_5?.stats.wasserstein, 132.39831994047614, 1e-9);
    // PSI, numpy deciles as in the drift tests: feat_4 10.288258067612437, feat_5 3.018203049601547
    close(f.feat_4?.stats.psi, 10.288258067612437, 1e-10);
    close(f.feat_5?.stats.psi, 3.018203049601547, 1e-10);
    // The period of the day has the same distribution in any 28 whole days.
    expect(f.feat_1).toMatchObject({ drift: false, score: 0 });
    // The share of UP labels barely moves here: no drift on target.
    close(f.target?.stats.ks_pvalue, 0.5593451939062305, 1e-9);
    expect(f.target?.drift).toBe(false);
  });
});
