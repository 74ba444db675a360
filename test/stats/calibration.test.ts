/**
 * Isotonic calibration (PAV) and the calibrated CBPE window estimate against independent values:
 * scikit-learn's own isotonic test cases (sklearn/tests/test_isotonic.py: `test_isotonic_regression`
 * and `test_isotonic_regression_ties_secondary_`, whose values come from R's `isotone::gpava` on the
 * pituitary data), hand-worked PAV and band arithmetic, and a seeded simulation of calibrated
 * predictions for the false-alarm rate of the 3σ reliability check.
 */
import { describe, expect, it } from 'vitest';
import {
  CalibrationInputError,
  calibrate,
  estimateFromBins,
  estimateWindow,
  fitIsotonicCalibration,
  fitIsotonicCalibrationFromScores,
  isotonicRegression,
  type LabelledScoreBin,
  type ScoreBin,
  type ScoreCalibration,
} from '../../src/stats/performance/index.js';
import { seededRandom } from '../helpers/random.js';

describe('isotonicRegression (pool adjacent violators)', () => {
  it("matches scikit-learn's test_isotonic_regression", () => {
    // sklearn: isotonic_regression([3, 7, 5, 9, 8, 7, 10]) == [3, 6, 6, 8, 8, 8, 10]
    expect(isotonicRegression([3, 7, 5, 9, 8, 7, 10])).toEqual([3, 6, 6, 8, 8, 8, 10]);
    // sklearn: isotonic_regression([10, 0, 2]) == [4, 4, 4]
    expect(isotonicRegression([10, 0, 2])).toEqual([4, 4, 4]);
  });

  it('pools weighted ties as R isotone gpava(ties = "secondary") does on the pituitary data', () => {
    // sklearn test_isotonic_regression_ties_secondary_: x = [8,8,8,10,10,10,12,12,12,14,14],
    // y = [21,23.5,23,24,21,25,21.5,22,19,23.5,25] → 22.22222 for x ≤ 12, 24.25 for x = 14.
    // Ties pooled first: means 22.5, 23.333…, 20.833…, 24.25 with weights 3, 3, 3, 2.
    const fitted = isotonicRegression([67.5 / 3, 70 / 3, 62.5 / 3, 48.5 / 2], [3, 3, 3, 2]);
    expect(fitted[0]).toBeCloseTo(22.22222, 5);
    expect(fitted[1]).toBeCloseTo(22.22222, 5);
    expect(fitted[2]).toBeCloseTo(22.22222, 5);
    expect(fitted[3]).toBe(24.25);
  });

  it('rejects non-positive weights and non-finite values with a clear error', () => {
    expect(() => isotonicRegression([1, 2], [1, 0])).toThrow(CalibrationInputError);
    expect(() => isotonicRegression([1, Number.NaN])).toThrow(/not finite/);
  });
});

describe('fitIsotonicCalibration and calibrate', () => {
  // Hand-worked: scores 0.1…0.6 with labels 0 1 0 0 1 1. PAV: [0] [1] → then 0 violates → pool
  // {1, 0} = 0.5, next 0 violates → pool {1, 0, 0} = 1/3; then 1, 1. Fitted: 0, ⅓, ⅓, ⅓, 1, 1.
  // Knots keep the first and last score of each constant block: 0.1→0, 0.2→⅓, 0.4→⅓, 0.5→1, 0.6→1.
  const map = fitIsotonicCalibrationFromScores([0.3, 0.1, 0.6, 0.2, 0.5, 0.4], [0, 0, 1, 1, 1, 0]);

  it('fits the hand-worked map', () => {
    expect(map.scores).toEqual([0.1, 0.2, 0.4, 0.5, 0.6]);
    expect(map.probabilities).toEqual([0, 1 / 3, 1 / 3, 1, 1]);
    expect(map.count).toBe(6);
    expect(map.positives).toBe(3);
  });

  it('interpolates linearly between knots and clips outside them (out_of_bounds="clip")', () => {
    expect(calibrate(map, 0.3)).toBeCloseTo(1 / 3, 15); // inside a block
    expect(calibrate(map, 0.45)).toBeCloseTo(2 / 3, 15); // halfway from (0.4, ⅓) to (0.5, 1)
    expect(calibrate(map, 0.15)).toBeCloseTo(1 / 6, 15); // halfway from (0.1, 0) to (0.2, ⅓)
    expect(calibrate(map, 0)).toBe(0);
    expect(calibrate(map, 0.99)).toBe(1);
  });

  it('gives the same map from binned points as from the rows they summarise', () => {
    const binned = fitIsotonicCalibration([
      { score: 0.1, count: 1, positives: 0 },
      { score: 0.2, count: 1, positives: 1 },
      { score: 0.3, count: 1, positives: 0 },
      { score: 0.4, count: 1, positives: 0 },
      { score: 0.5, count: 1, positives: 1 },
      { score: 0.6, count: 1, positives: 1 },
    ]);
    expect(binned).toEqual(map);
    // two rows with one score are one point of weight 2 (ties pooled)
    expect(fitIsotonicCalibrationFromScores([0.5, 0.5, 0.7], [0, 1, 1]).probabilities).toEqual([0.5, 1]);
  });

  it('refuses empty or impossible input', () => {
    expect(() => fitIsotonicCalibration([])).toThrow(/at least one labelled/);
    expect(() => fitIsotonicCalibration([{ score: 0.5, count: 2, positives: 3 }])).toThrow(/positives/);
  });
});

describe('estimateWindow: calibrated CBPE with a band and a reliability check', () => {
  // Two bins: 2 predictions with mean score 0.2 (predicted negative), 2 with 0.9 (predicted positive).
  const bins: ScoreBin[] = [
    { lower: 0, upper: 0.5, count: 2, meanScore: 0.2 },
    { lower: 0.5, upper: 1, count: 2, meanScore: 0.9 },
  ];

  it('without calibration equals the raw CBPE estimate, with the Bernoulli band', () => {
    const e = estimateWindow({ bins });
    expect(e.calibrated).toBe(false);
    expect(e.accuracy).toBe(estimateFromBins(bins).accuracy);
    // hand: accuracy (2·0.8 + 2·0.9)/4 = 0.85; SE = sqrt(2·0.2·0.8 + 2·0.9·0.1)/4 = sqrt(0.5)/4
    expect(e.accuracy).toBeCloseTo(0.85, 15);
    expect(e.accuracyStdError).toBeCloseTo(Math.sqrt(0.5) / 4, 15);
    expect(e.accuracyLower).toBeCloseTo(0.85 - (3 * Math.sqrt(0.5)) / 4, 15);
    expect(e.accuracyUpper).toBe(1); // 0.85 + 0.53 clipped
    expect(e.check).toBeNull();
  });

  it('maps bin means through the calibration, keeping the raw threshold split', () => {
    // map 0 → 0, 1 → 0.5: calibrate(0.2) = 0.1, calibrate(0.9) = 0.45
    const calibration: ScoreCalibration = {
      method: 'isotonic',
      scores: [0, 1],
      probabilities: [0, 0.5],
      count: 10,
      positives: 2,
    };
    const e = estimateWindow({ bins, calibration });
    expect(e.calibrated).toBe(true);
    // hand: predicted negatives right with 0.9, predicted positives with 0.45 → (1.8 + 0.9)/4
    expect(e.accuracy).toBeCloseTo(0.675, 15);
    expect(e.positiveRate).toBe(0.5); // the model's decisions are unchanged
    expect(e.accuracyStdError).toBeCloseTo(Math.sqrt(2 * 0.1 * 0.9 + 2 * 0.45 * 0.55) / 4, 15);
  });

  it('judges the labelled predictions: within the band, outside it, and too few to judge', () => {
    const window: ScoreBin[] = [{ lower: 0.5, upper: 1, count: 100, meanScore: 0.9 }];
    const labelled = (positives: number, count = 100): LabelledScoreBin[] => [
      { lower: 0.5, upper: 1, count, meanScore: 0.9, positives },
    ];
    // expected right 90 of 100, sd = sqrt(100·0.9·0.1) = 3
    const fine = estimateWindow({ bins: window, labelled: labelled(88) }).check;
    expect(fine?.accuracyZ).toBeCloseTo(-2 / 3, 12);
    expect(fine?.reliable).toBe(true);
    expect(fine?.reasons).toEqual([]);
    // 50 of 100 positive: z = (50 − 90)/3 = −13.3 on both tests
    const drifted = estimateWindow({ bins: window, labelled: labelled(50) }).check;
    expect(drifted?.accuracyZ).toBeCloseTo(-40 / 3, 12);
    expect(drifted?.positiveRateZ).toBeCloseTo(-40 / 3, 12);
    expect(drifted?.reliable).toBe(false);
    expect(drifted?.reasons).toEqual(['accuracy_outside_band', 'calibration_shift']);
    expect(drifted?.realisedAccuracy).toBe(0.5);
    expect(drifted?.expectedAccuracy).toBeCloseTo(0.9, 15);
    // 29 labelled < minLabelled 30: no verdict
    expect(estimateWindow({ bins: window, labelled: labelled(10, 29) }).check).toBeNull();
  });

  it('raises few false alarms when the calibration holds, and flags a shifted P(y | score) (seeded)', () => {
    // 400 windows of 300 predictions whose labels are drawn with P(positive) = score: under the
    // normal approximation each 3σ test flags ≈ 0.27 % of them, the two together ≈ 0.5 % (≈ 2
    // windows; ≤ 8 leaves room for chance: P(Poisson(2.2) ≥ 9) ≈ 0.1 %). A band a third as wide
    // (a wrong variance) would flag most windows. The same windows with labels drawn at 0.8 × score
    // (concept drift: expected positives 150, actual ≈ 120, sd ≈ 7, z ≈ −4.2) are flagged in most.
    const random = seededRandom(11);
    let flagged = 0;
    let inside = 0;
    let flaggedShifted = 0;
    for (let w = 0; w < 400; w++) {
      const counts = new Array<number>(10).fill(0);
      const sums = new Array<number>(10).fill(0);
      const positives = new Array<number>(10).fill(0);
      const shifted = new Array<number>(10).fill(0);
      for (let i = 0; i < 300; i++) {
        const s = random();
        const b = Math.min(9, Math.floor(s * 10));
        counts[b]! += 1;
        sums[b]! += s;
        const u = random();
        if (u < s) positives[b]! += 1;
        if (u < 0.8 * s) shifted[b]! += 1;
      }
      const bin = (b: number): ScoreBin => ({
        lower: b / 10,
        upper: (b + 1) / 10,
        count: counts[b]!,
        meanScore: counts[b]! > 0 ? sums[b]! / counts[b]! : null,
      });
      const bins = counts.map((_, b) => bin(b));
      const e = estimateWindow({ bins, labelled: bins.map((x, b) => ({ ...x, positives: positives[b]! })) });
      if (e.check?.reliable === false) flagged++;
      const realised = e.check!.realisedAccuracy;
      if (realised >= e.accuracyLower! && realised <= e.accuracyUpper!) inside++;
      const d = estimateWindow({ bins, labelled: bins.map((x, b) => ({ ...x, positives: shifted[b]! })) });
      if (d.check?.reasons.includes('calibration_shift')) flaggedShifted++;
    }
    console.log(
      `[calibration simulation] 400 windows: flagged ${flagged} when calibrated, realised inside the band in ${inside}, flagged ${flaggedShifted} with P(y | score) × 0.8`,
    );
    expect(flagged).toBeLessThanOrEqual(8);
    expect(inside).toBeGreaterThanOrEqual(392);
    expect(flaggedShifted).toBeGreaterThanOrEqual(300);
  });
});
