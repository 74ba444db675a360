import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomsOf, numericProfile } from '../../src/profiles/from-file.js';
import { edgesContain } from '../../src/profiles/profile.js';
import {
  ProfileInputError,
  categoricalProfile,
  isNumericColumn,
  profileFromFile,
  readTable,
} from '../../src/profiles/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlmon-profile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('profiles from files', () => {
  it('numeric profile of 1..10 with one missing cell: numpy deciles, bin counts, moments', async () => {
    const path = join(dir, 'p.csv');
    await writeFile(
      path,
      'v,c\n' +
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v, i) => `${v},${i % 3 === 0 ? 'a' : 'b'}`).join('\n') +
        '\n,\n',
    );
    const p = await profileFromFile(path, { fineBins: 4, topK: 1 });
    expect(p.rowCount).toBe(11);
    const v = p.features.v;
    if (v?.kind !== 'numeric') throw new Error('v should be numeric');
    expect(v).toMatchObject({ count: 10, missing: 1, mean: 5.5, min: 1, max: 10 });
    // population std of 1..10 = sqrt((10² − 1) / 12) = sqrt(8.25)
    expect(v.std).toBeCloseTo(Math.sqrt(8.25), 14);
    // python3 -c "import numpy as np; print(np.quantile(np.arange(1,11), np.arange(1,10)/10).tolist())"
    expect(v.psiEdges).toEqual([1.9, 2.8, 3.6999999999999997, 4.6, 5.5, 6.3999999999999995, 7.3, 8.2, 9.1]);
    expect(v.psiCounts).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // fine edges: quartiles of 1..10 (numpy linear: 3.25, 5.5, 7.75) merged with the deciles; no
    // value repeats, so no atom bins
    expect(v.edges).toEqual([
      1.9, 2.8, 3.25, 3.6999999999999997, 4.6, 5.5, 6.3999999999999995, 7.3, 7.75, 8.2, 9.1,
    ]);
    expect(v.counts).toEqual([1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1]);
    const c = p.features.c;
    expect(c).toEqual({
      kind: 'categorical',
      count: 10,
      missing: 1,
      distinct: 2,
      categories: { b: 6 },
      otherCount: 4,
      otherCategories: 1,
    });
  });

  it('top-K keeps the most frequent, ties by name', () => {
    const p = categoricalProfile(
      new Map([
        ['z', 2],
        ['a', 2],
        ['m', 5],
        ['q', 1],
      ]),
      0,
      2,
    );
    expect(p.categories).toEqual({ m: 5, a: 2 });
    expect(p.otherCount).toBe(3);
  });

  it('numeric detection: no text cell (NaN and Infinity are numbers); text makes it categorical', () => {
    expect(isNumericColumn(['1', ' 2.5 ', '-3e2', null, 4])).toBe(true);
    // Non-finite numbers are numbers (issue 21: the rule compare already had, now baseline's too).
    expect(isNumericColumn(['1', 'NaN'])).toBe(true);
    expect(isNumericColumn(['1', 'Infinity'])).toBe(true);
    expect(isNumericColumn(['NaN', 'NaN'])).toBe(true);
    expect(isNumericColumn(['1', 'x'])).toBe(false);
  });

  it('--categorical forces a numeric-looking column; an all-missing column has count 0', async () => {
    const path = join(dir, 'q.jsonl');
    await writeFile(path, '{"zip":"01234","n":null}\n{"zip":"99999"}\n');
    const t = await readTable(path);
    expect(t.columns).toEqual(['zip', 'n']);
    const p = await profileFromFile(path, { categorical: ['zip'] });
    expect(p.features.zip?.kind).toBe('categorical');
    expect(p.features.n).toMatchObject({ kind: 'numeric', count: 0, missing: 2, mean: null });
  });

  it('clear errors: missing file, empty file, ragged CSV, bad JSONL', async () => {
    await expect(readTable(join(dir, 'none.csv'))).rejects.toThrow(/file not found/);
    await writeFile(join(dir, 'e.csv'), '\n');
    await expect(readTable(join(dir, 'e.csv'))).rejects.toThrow(ProfileInputError);
    await writeFile(join(dir, 'r.csv'), 'a,b\n1,2\n3\n');
    await expect(readTable(join(dir, 'r.csv'))).rejects.toThrow(/cannot parse CSV/);
    await writeFile(join(dir, 'b.jsonl'), '{"a":1}\n[1]\n');
    await expect(readTable(join(dir, 'b.jsonl'))).rejects.toThrow(/line 2 is not an object/);
  });
});

describe('atoms in file profiles', () => {
  it('values holding ≥ 0.5 % get a bin [v, nextUp(v)) of their own; PSI bins still nest', () => {
    // 30 zeros, 20 fives, 50 distinct values 10..59: n = 100, so two equal values already make an atom.
    const values = [...Array<number>(30).fill(0), ...Array<number>(20).fill(5)];
    for (let v = 10; v < 60; v++) values.push(v);
    expect(atomsOf(Float64Array.from(values).sort())).toEqual([0, 5]);
    const p = numericProfile(values, 0);
    const zero = p.edges.indexOf(0);
    const five = p.edges.indexOf(5);
    expect(p.edges[zero + 1]).toBe(Number.MIN_VALUE); // nextUp(0)
    expect(p.edges[five + 1]).toBeGreaterThan(5);
    expect(p.edges[five + 1]).toBeLessThan(5 + 1e-12);
    expect(p.counts[zero + 1]).toBe(30);
    expect(p.counts[five + 1]).toBe(20);
    expect(p.counts.reduce((s, c) => s + c, 0)).toBe(100);
    expect(edgesContain(p.edges, p.psiEdges)).toBe(true);
  });
});
