/**
 * The streaming reader of `mlmon compare` (src/profiles/column-stream.ts) gives the comparison the
 * whole-file reader (`readTable`, how compare read files before issue 21) gives: the same JSON,
 * number for number. Including the second pass: a column of more than NUMERIC_COUNTS_LIMIT
 * distinct numbers that turns categorical (one text cell in the current file) is recounted exactly.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTables, tableSource } from '../../src/cli/commands/compare.js';
import { NUMERIC_COUNTS_LIMIT, readColumns } from '../../src/profiles/column-stream.js';
import { readTable } from '../../src/profiles/from-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlmon-column-stream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function both(refText: string, curText: string, ext = 'csv', categorical: string[] = []) {
  const ref = join(dir, `ref-${Math.random()}.${ext}`);
  const cur = join(dir, `cur-${Math.random()}.${ext}`);
  await writeFile(ref, refText);
  await writeFile(cur, curText);
  const whole = compareTables(tableSource(await readTable(ref)), tableSource(await readTable(cur)), {
    categorical,
  });
  const r = await readColumns(ref);
  const c = await readColumns(cur);
  const recount = (t: typeof r) => t.recount(t.columns.filter((n) => t.needsRecount(n)));
  await Promise.all([recount(r), recount(c)]);
  const streamed = compareTables(r, c, { categorical });
  return { whole, streamed, r, c };
}

describe('readColumns: the same comparison as the whole-file reader', () => {
  it('numbers, text, missing, non-finite, quoted fields and a BOM', async () => {
    const ref = '\uFEFFa,b,c\n1,x,\n2," y, z",NaN\n3,x,4\n 4 ,w,5\n';
    const cur = 'a,b,c\n1,x,Infinity\n5,"multi\nline",6\n,x,7\n';
    const { whole, streamed } = await both(ref, cur);
    expect(streamed.features).toEqual(whole.features);
    // a: 4 numbers against 2 and a missing one; c: 1 NaN of 3 present against 1 Infinity of 3.
    expect(streamed.features.map((f) => [f.name, f.kind, f.method])).toEqual([
      ['a', 'numeric', 'ks'],
      ['b', 'categorical', 'chi2'],
      ['c', 'numeric', 'ks'],
    ]);
  });

  it('JSONL: absent keys are missing, numbers count as their decimal string', async () => {
    const ref = '{"a": 1, "b": "x"}\n{"a": 2}\n{"b": 3, "a": 2.5}\n';
    const cur = '{"a": 1}\n{"a": "n/a", "b": "x"}\n';
    const { whole, streamed } = await both(ref, cur, 'jsonl');
    expect(streamed.features).toEqual(whole.features);
  });

  it(`more than ${NUMERIC_COUNTS_LIMIT} distinct numbers, then text: recounted exactly`, async () => {
    const n = NUMERIC_COUNTS_LIMIT + 500;
    const ref = `v\n${Array.from({ length: n }, (_, i) => i).join('\n')}\n`;
    const cur = `v\n${Array.from({ length: n }, (_, i) => (i === 7 ? 'seven' : i * 2)).join('\n')}\n`;
    const { whole, streamed, r, c } = await both(ref, cur);
    expect(r.needsRecount('v')).toBe(false); // recounted above
    expect(c.column('v').types.text).toBe(1);
    expect(streamed.features).toEqual(whole.features);
    expect(streamed.features[0]?.method).toBe('type_mismatch');
    // unseen: of the current's n values, the even numbers below n are in the reference (i < n/2,
    // minus i = 7 which is text): ceil(n/2) - 1 seen; the rest unseen.
    const seen = Math.ceil(n / 2) - 1;
    expect(streamed.features[0]?.stats.unseen_category_rate).toBeCloseTo((n - seen) / n, 12);
  });

  it('--categorical over many distinct numbers: recounted exactly', async () => {
    const n = NUMERIC_COUNTS_LIMIT + 10;
    const ref = `id\n${Array.from({ length: n }, (_, i) => i).join('\n')}\n`;
    const cur = `id\n${Array.from({ length: n }, (_, i) => i + 5).join('\n')}\n`;
    const { whole, streamed } = await both(ref, cur, 'csv', ['id']);
    expect(streamed.features).toEqual(whole.features);
  });
});
