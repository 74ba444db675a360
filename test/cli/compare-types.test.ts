/**
 * Issue 12, item 3: `mlmon compare` never calls disjoint or broken data healthy. The inputs are the
 * issue's: a reference of `abc0..abc299` against the numbers 0..299 (chi-square on all-unique
 * values gave p ≈ 0.5, "no drift", with JS = 1), and a column whose current file holds 10 %
 * `Infinity`. Also the Elasticsearch path's rule (typeMismatchVerdict): counted type mismatches
 * drive the verdict.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCommand, type CompareResult } from '../../src/cli/commands/compare.js';
import { typeMismatchVerdict, type FieldResult } from '../../src/analyzer/field-result.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function compare(ref: string, cur: string, format: 'json' | 'table') {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await compareCommand(['--reference', ref, '--current', cur, '--format', format], {
    stdout,
    stderr,
  });
  return { code, out: stdout.text, err: stderr.text };
}

let dir: string;
const csv = (header: string, rows: Array<string | number>) => `${header}\n${rows.join('\n')}\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlmon-compare-types-'));
  const n = Array.from({ length: 300 }, (_, i) => i);
  await writeFile(
    join(dir, 'text.csv'),
    csv(
      'x',
      n.map((i) => `abc${i}`),
    ),
  );
  await writeFile(join(dir, 'numbers.csv'), csv('x', n));
  // every 10th value Infinity: 30 of 300 = 10 %; the other 270 values are 0..299 minus the multiples of 10
  await writeFile(
    join(dir, 'infinity.csv'),
    csv(
      'x',
      n.map((i) => (i % 10 === 0 ? 'Infinity' : i)),
    ),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mlmon compare: type changes and non-finite numbers', () => {
  it('text in the reference, numbers in the current file: a quality finding and drift', async () => {
    const r = await compare(join(dir, 'text.csv'), join(dir, 'numbers.csv'), 'json');
    expect(r.code).toBe(0);
    const x = (JSON.parse(r.out) as CompareResult).features[0];
    expect(x).toMatchObject({ name: 'x', drift: true, method: 'type_mismatch', severity: 'high' });
    // every reference value is text: the share of the differing type is 300/300
    expect(x?.score).toBe(1);
    expect(x?.findings).toEqual([
      "type differs: the reference holds text, the current file numbers (e.g. 'abc0' in the reference)",
    ]);
    // the distributions are disjoint: JS distance 1, every current value unseen
    expect(x?.stats.js).toBeCloseTo(1, 12);
    expect(x?.stats.unseen_category_rate).toBe(1);

    const table = await compare(join(dir, 'text.csv'), join(dir, 'numbers.csv'), 'table');
    expect(table.out).toContain('1 of 1 features drifted');
    expect(table.out).toContain('quality: x: type differs');
  });

  it('10 % Infinity in the current file: numeric, a quality finding and drift', async () => {
    const r = await compare(join(dir, 'numbers.csv'), join(dir, 'infinity.csv'), 'json');
    const x = (JSON.parse(r.out) as CompareResult).features[0];
    expect(x).toMatchObject({
      kind: 'numeric',
      drift: true,
      method: 'non_finite',
      severity: 'high',
      non_finite_rate: 0.1,
      reference_non_finite_rate: 0,
    });
    // 30 of 300 values are Infinity in the current file, none in the reference
    expect(x?.score).toBe(0.1);
    expect(x?.findings?.[0]).toBe(
      "non-finite numbers (Infinity, NaN): 10.0 % of the current values, 0.0 % of the reference's",
    );
    // the statistics are those of the 270 finite values (0..299 without the multiples of 10): the
    // largest CDF gap is at each multiple of 10m, (10m + 1)/300 against 9m/270 = 10m/300, so KS = 1/300
    expect(x?.stats.ks).toBeCloseTo(1 / 300, 12);
  });

  it('the same numbers on both sides stay healthy (the rule is not "always drift")', async () => {
    const r = await compare(join(dir, 'numbers.csv'), join(dir, 'numbers.csv'), 'json');
    const x = (JSON.parse(r.out) as CompareResult).features[0];
    expect(x).toMatchObject({ drift: false, kind: 'numeric' });
    expect(x?.findings).toBeUndefined();
  });
});

describe('Elasticsearch path: counted type mismatches drive the verdict', () => {
  const healthy: FieldResult = {
    name: 'x',
    field: 'features.x',
    role: 'feature',
    kind: 'numeric',
    type: 'numeric',
    count: 900,
    quality: { missing_rate: 0, type_mismatch_rate: 0.1 },
    drift: {
      psi: 0.001,
      method: 'wasserstein',
      score: 0.01,
      threshold: 0.1,
      detected: false,
      severity: 'none',
    },
  };

  // issue 27: a type mismatch is a quality finding with a severity, no longer drift
  it('10 % mismatched values: a high-severity quality finding; the drift verdict stays the statistics', () => {
    const r = typeMismatchVerdict(healthy);
    expect(r.drift).toBe(healthy.drift);
    expect(r.quality.severity).toBe('high');
    expect(r.note).toBe("10.0 % of the values have another type than the reference's");
  });

  it('a field with no parsable value at all: no drift result, quality severity high', () => {
    const r = typeMismatchVerdict({
      ...healthy,
      drift: undefined,
      note: 'no values in the window',
      quality: { missing_rate: 1, type_mismatch_rate: 1 },
    });
    expect(r.drift).toBeUndefined();
    expect(r.quality.severity).toBe('high');
  });

  it('no mismatch: the result is left as it is, with quality severity none', () => {
    const clean = { ...healthy, quality: { missing_rate: 0, type_mismatch_rate: 0 } };
    expect(typeMismatchVerdict(clean)).toEqual({ ...clean, quality: { ...clean.quality, severity: 'none' } });
  });
});
