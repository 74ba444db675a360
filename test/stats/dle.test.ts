/**
 * Direct loss estimation (stats/performance/dle.ts) against hand-worked values: the first split of
 * a step function, the boosting sum, missing values, the leaf-count mean the analyzer computes in
 * Elasticsearch, NannyML's sampling-error formulas against the spread of the realised metric over
 * reference chunks, and the cross-fit's lack of in-sample optimism.
 */
import { describe, expect, it } from 'vitest';
import {
  crossFitPredictions,
  estimateLossFromRows,
  estimateLossWindow,
  fitDirectLossModel,
  fitLossEnsemble,
  maeSamplingError,
  meanFromLeafCounts,
  predictEnsemble,
  rmseSamplingError,
  type LossRow,
} from '../../src/stats/performance/index.js';
import { seededRandom } from '../helpers/random.js';
import { normal } from '../performance/fixtures.js';
import { errorOf, LOSS_INPUTS, lossRow, regressionRows } from '../performance/regression-synthetic.js';

describe('fitLossEnsemble', () => {
  // x = 0…99, loss 1 below 50 and 3 from 50 on: mean 2; the best split is x ≥ 50 (it removes all
  // the variance), every later tree refits the remaining residual ±(1 − 0.1)^r.
  const rows: LossRow[] = Array.from({ length: 100 }, (_, i) => [i]);
  const target = rows.map((r) => ((r[0] as number) < 50 ? 1 : 3));

  it('splits a step exactly where it is, x ≥ 50, with leaf values ±learning rate × 1', () => {
    const m = fitLossEnsemble(rows, target, { rounds: 1, depth: 1 });
    expect(m.base).toBe(2);
    expect(m.trees).toHaveLength(1);
    const leaves = m.trees[0]?.leaves ?? [];
    expect(leaves.map((l) => l.conditions)).toEqual([[[0, 'lt', 50]], [[0, 'gte', 50]]]);
    // mean residual −1 and +1, times the learning rate 0.1
    expect(leaves[0]?.value).toBeCloseTo(-0.1, 12);
    expect(leaves[1]?.value).toBeCloseTo(0.1, 12);
  });

  it('boosts towards the step: after r rounds the prediction is 2 ∓ (1 − 0.9^r)', () => {
    const m = fitLossEnsemble(rows, target, { rounds: 30, depth: 2 });
    // Depth 2 splits the pure halves no further (no gain), so each round is the same split.
    const expected = 1 - 0.9 ** 30;
    expect(predictEnsemble(m, [10])).toBeCloseTo(2 - expected, 9);
    expect(predictEnsemble(m, [50])).toBeCloseTo(2 + expected, 9);
    // A missing input goes left (x < t), as Elasticsearch's must_not range does.
    expect(predictEnsemble(m, [null])).toBeCloseTo(2 - expected, 9);
    expect(predictEnsemble(m, [Number.NaN])).toBeCloseTo(2 - expected, 9);
  });

  it('respects the minimum leaf size: 100 rows with minLeaf 60 cannot split', () => {
    const m = fitLossEnsemble(rows, target, { rounds: 3, minLeaf: 60 });
    expect(m.trees.length).toBeLessThanOrEqual(1);
    expect(predictEnsemble(m, [99])).toBeCloseTo(2, 12);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => fitLossEnsemble([], [])).toThrow(/no rows/);
    expect(() => fitLossEnsemble([[1]], [Number.NaN])).toThrow(/finite/);
    expect(() => fitLossEnsemble([[1], [2]], [1])).toThrow(/2 rows, 1 targets/);
  });
});

describe('the window mean from leaf counts (what the range aggregations return)', () => {
  it('equals the mean of the row-by-row predictions, and refuses counts that do not partition the window', () => {
    const ref = regressionRows(2000, 7);
    const model = fitDirectLossModel({
      inputs: LOSS_INPUTS,
      rows: ref.map(lossRow),
      errors: ref.map(errorOf),
    });
    const window = regressionRows(500, 8, 0.5).map(lossRow);
    const e = model.absolute;
    const counts = e.trees.map((t) =>
      t.leaves.map(
        (leaf) =>
          window.filter((r) =>
            leaf.conditions.every(([j, op, th]) => (op === 'gte') === (r[j] as number) >= th),
          ).length,
      ),
    );
    const rowMean = window.reduce((a, r) => a + predictEnsemble(e, r), 0) / window.length;
    expect(meanFromLeafCounts(e, counts, window.length)).toBeCloseTo(rowMean, 10);
    const broken = counts.map((c, t) => (t === 0 ? c.map((x, l) => (l === 0 ? x + 1 : x)) : c));
    expect(() => meanFromLeafCounts(e, broken, window.length)).toThrow(/add up to 501/);
  });
});

describe('sampling error (NannyML: std/√n; RMSE by the delta method)', () => {
  it('matches the spread of the realised MAE and RMSE over reference chunks of the window size', () => {
    // 200 chunks of 500 rows from one distribution: the std of the chunk MAE must be std(|e|)/√500,
    // within the 10 % a std from 200 chunks carries (its relative standard error is 1/√(2·199) = 5 %).
    const random = seededRandom(11);
    const errors = Array.from({ length: 100_000 }, () => (0.5 + Math.abs(normal(random))) * normal(random));
    const abs = errors.map(Math.abs);
    const sq = errors.map((e) => e * e);
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const std = (xs: number[]) => {
      const m = mean(xs);
      return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    };
    const ref = (xs: number[]) => ({
      mean: mean(xs),
      std: std(xs),
      crossFitMean: 0,
      crossFitMeanAbsError: 0,
    });
    const chunkMae: number[] = [];
    const chunkRmse: number[] = [];
    for (let c = 0; c < 200; c++) {
      chunkMae.push(mean(abs.slice(c * 500, (c + 1) * 500)));
      chunkRmse.push(Math.sqrt(mean(sq.slice(c * 500, (c + 1) * 500))));
    }
    expect(maeSamplingError(ref(abs), 500) / std(chunkMae)).toBeGreaterThan(0.9);
    expect(maeSamplingError(ref(abs), 500) / std(chunkMae)).toBeLessThan(1.1);
    // RMSE: heavier tails (e⁴ enters), so 15 %.
    expect(rmseSamplingError(ref(sq), 500) / std(chunkRmse)).toBeGreaterThan(0.85);
    expect(rmseSamplingError(ref(sq), 500) / std(chunkRmse)).toBeLessThan(1.15);
  });
});

describe('estimateLossWindow', () => {
  const model = fitDirectLossModel({
    inputs: ['x'],
    rows: Array.from({ length: 200 }, (_, i) => [i]),
    errors: Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : -1)),
  });

  it('band = estimate ± 3 std(|e|)/√n; the check fires when realised leaves it', () => {
    // |e| = 1 everywhere: std 0, so any difference is infinitely many sampling errors.
    expect(model.absolute.reference.mean).toBe(1);
    expect(model.absolute.reference.std).toBe(0);
    const e = estimateLossWindow({
      model,
      count: 100,
      meanAbsLoss: 1,
      meanSquaredLoss: 1,
      labelled: { count: 100, sumAbsError: 120, sumSquaredError: 100 },
    });
    expect(e.mae).toBe(1);
    expect(e.maeLower).toBe(1);
    expect(e.check?.reasons).toEqual(['mae_outside_band']);
    expect(e.check?.realisedMae).toBeCloseTo(1.2, 12);
  });

  it('leaves the verdict out below 30 labels, clamps a negative boosted mean to 0', () => {
    const e = estimateLossWindow({
      model,
      count: 50,
      meanAbsLoss: -0.01,
      meanSquaredLoss: -0.02,
      labelled: { count: 29, sumAbsError: 100, sumSquaredError: 100 },
    });
    expect(e.check).toBeNull();
    expect(e.mae).toBe(0);
    expect(e.rmse).toBe(0);
    expect(() => estimateLossWindow({ model, count: 0, meanAbsLoss: 1, meanSquaredLoss: 1 })).toThrow(/> 0/);
  });
});

describe('cross-fitting', () => {
  it('out-of-fold predictions carry no in-sample optimism: on pure noise they do not track the noise', () => {
    // Loss independent of the input: any fit to it is overfitting. In sample, the ensemble's
    // predictions correlate with the noise (it was fitted to it); out of fold they do not.
    const random = seededRandom(3);
    const rows: LossRow[] = Array.from({ length: 1000 }, () => [random()]);
    const target = rows.map(() => Math.abs(normal(random)));
    const inSample = fitLossEnsemble(rows, target);
    const oof = crossFitPredictions(rows, target);
    const corr = (a: number[], b: number[]) => {
      const ma = a.reduce((s, x) => s + x, 0) / a.length;
      const mb = b.reduce((s, x) => s + x, 0) / b.length;
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      for (let i = 0; i < a.length; i++) {
        sab += ((a[i] as number) - ma) * ((b[i] as number) - mb);
        saa += ((a[i] as number) - ma) ** 2;
        sbb += ((b[i] as number) - mb) ** 2;
      }
      return sab / Math.sqrt(saa * sbb);
    };
    const fitted = rows.map((r) => predictEnsemble(inSample, r));
    // In sample: clearly positive (the trees found structure in noise). Out of fold: |r| < 0.1
    // (the standard error of a correlation of 1,000 independent pairs is 1/√1000 = 0.03).
    expect(corr(fitted, target)).toBeGreaterThan(0.15);
    expect(Math.abs(corr(oof, target))).toBeLessThan(0.1);
  });

  it('estimateLossFromRows on the reference itself is near the cross-fitted level', () => {
    const ref = regressionRows(3000, 21);
    const model = fitDirectLossModel({
      inputs: LOSS_INPUTS,
      rows: ref.map(lossRow),
      errors: ref.map(errorOf),
    });
    const e = estimateLossFromRows(model, ref.map(lossRow));
    expect(Math.abs(e.mae - model.absolute.reference.crossFitMean)).toBeLessThan(0.01);
    expect(e.referenceMae).toBe(model.absolute.reference.crossFitMean);
  });
});
