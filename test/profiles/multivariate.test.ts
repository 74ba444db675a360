/**
 * The multivariate state of `mlmon baseline --file`: fitted on the file's rows (CSV cells are
 * strings; numbers are read as numbers, the categorical column by frequency), or absent with the
 * reason when the file has one feature only.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileTable, readTable } from '../../src/profiles/from-file.js';
import { describeMultivariate, multivariateFromTable } from '../../src/profiles/multivariate.js';
import { fitReconstruction } from '../../src/stats/multivariate/reconstruction.js';
import { correlatedRows } from '../helpers/correlation-flip.js';

describe('multivariate state from a reference file', () => {
  it('is the fit of the same rows as numbers, and says why when it cannot be fitted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlmon-mv-'));
    const rows = correlatedRows(600, 0.85, 9);
    const csv = [
      'x1,x2,x3,c,prediction.score',
      ...rows.map((r) => `${r.x1},${r.x2},${r.x3},${r.c},0.5`),
    ].join('\n');
    await writeFile(join(dir, 'ref.csv'), csv);
    const table = await readTable(join(dir, 'ref.csv'));
    const state = multivariateFromTable(table, profileTable(table));
    if (!('reconstruction' in state)) throw new Error(state.reason);
    // The output column is no feature; the CSV strings give the same model as the numbers.
    expect(state.features.map((f) => `${f.name}:${f.kind}`)).toEqual([
      'x1:numeric',
      'x2:numeric',
      'x3:numeric',
      'c:categorical',
    ]);
    const direct = fitReconstruction(rows, ['x1', 'x2', 'x3', 'c'], new Set(['c']));
    expect(state.reconstruction.errorMean).toBeCloseTo(direct.errorMean, 12);
    expect(state.reconstruction.components).toHaveLength(2);
    expect(state.domainClassifier.referenceRows).toHaveLength(600);
    expect(describeMultivariate({ ...profileTable(table), multivariate: state })).toMatch(
      /keeps 2 components/,
    );

    await writeFile(join(dir, 'one.csv'), 'x1,prediction.score\n1,0.5\n2,0.4\n');
    const one = await readTable(join(dir, 'one.csv'));
    expect(multivariateFromTable(one, profileTable(one))).toEqual({
      reason: 'multivariate drift needs 2 features or more; the reference has 1',
    });
  });
});
