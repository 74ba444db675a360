/**
 * Issue 27 item 2, without Elasticsearch: the per-class maps' decision and trust verdict
 * (profiles/calibration.ts `decideMulticlassCalibration`, stats/performance/
 * cbpe-multiclass-calibration.ts) and how a window's masses go through them. The end-to-end
 * known-truth case is in estimation-known-truth.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { multiclassEstimatedFields } from '../../src/analyzer/performance-estimate.js';
import { settingsOf, type Settings } from '../../src/analyzer/performance-request.js';
import { decideMulticlassCalibration } from '../../src/profiles/calibration.js';
import {
  calibrateMasses,
  summariseCrossFits,
  type CalibrationPoint,
  type CrossFit,
} from '../../src/stats/performance/index.js';

/** n predictions at own probability `score`, of which `right` were right. */
const point = (score: number, count: number, positives: number): CalibrationPoint => ({
  score,
  count,
  positives,
});

describe('multi-class calibration maps', () => {
  it('maps an over-confident class and leaves a class with too few labels raw', () => {
    // class a: reported 0.9 but right 60 % of the time, reported 0.6 right 45 %: the isotonic fit
    // of two points already in order is the points' own rates
    const decided = decideMulticlassCalibration(
      new Map([
        ['a', [point(0.6, 200, 90), point(0.9, 200, 120)]],
        ['b', [point(0.8, 50, 30)]],
      ]),
    );
    expect(decided.method).toBe('top_label_isotonic');
    if (decided.method !== 'top_label_isotonic') return;
    expect(decided.map.classes.a?.probabilities).toEqual([0.45, 0.6]);
    expect(decided.map.classes.b).toBeUndefined();
    expect(decided.map.uncalibrated?.b).toMatch(/50 labelled reference predictions of class b/);
    expect(decided.map.count).toBe(450);
    expect(decided.map.right).toBe(240);
    // out of fold each fold's map is fitted on the other 9 folds' identical rates: the same values
    expect(decided.map.cross_fit?.expected_accuracy).toBeCloseTo(210 / 400, 10);
    expect(decided.map.cross_fit?.realised_accuracy).toBeCloseTo(210 / 400, 10);
    expect(decided.map.cross_fit?.trusted).toBe(true);
  });

  it('a map whose out-of-fold accuracy misses the reference by more than 3 σ is not trusted', () => {
    const fit = (meanCalibrated: number): CrossFit => ({
      folds: 10,
      eceRaw: 0,
      eceCalibrated: 0,
      brierRaw: 0,
      brierCalibrated: 0,
      expectedAccuracy: 0,
      realisedAccuracy: 0,
      meanCalibrated,
      improves: true,
    });
    // 1000 predictions, 700 right; σ = sqrt(1000 · 0.7 · 0.3) = 14.5 predictions
    // expected 0.66: (700 − 660) / 14.98 = 2.67 σ (trusted); expected 0.65: 50 / 15.08 = 3.32 σ (not)
    const near = summariseCrossFits([{ count: 1000, right: 700, fit: fit(0.66) }]);
    const far = summariseCrossFits([{ count: 1000, right: 700, fit: fit(0.65) }]);
    expect(near?.accuracy_z).toBeCloseTo(40 / Math.sqrt(1000 * 0.66 * 0.34), 10);
    expect(near?.trusted).toBe(true);
    expect(far?.accuracy_z).toBeCloseTo(50 / Math.sqrt(1000 * 0.65 * 0.35), 10);
    expect(far?.trusted).toBe(false);
  });

  it("a window's masses: P(right) from the class map, the rest in raw proportions", () => {
    const map = {
      method: 'top_label_isotonic' as const,
      classes: {
        a: {
          method: 'isotonic' as const,
          scores: [0.5, 0.9],
          probabilities: [0.4, 0.6],
          count: 400,
          positives: 200,
        },
      },
      count: 400,
      right: 200,
    };
    const out = calibrateMasses(
      [
        {
          label: 'a',
          count: 10,
          // raw: own 0.7 each, the rest split 0.2 b / 0.1 c
          probabilitySums: { a: 7, b: 2, c: 1 },
          ownSum: 7,
          ownSquareSum: 4.9,
          bins: [{ count: 10, mean: 0.7 }],
        },
        {
          label: 'b',
          count: 5,
          probabilitySums: { a: 1, b: 4, c: 0 },
          ownSum: 4,
          ownSquareSum: 3.2,
          bins: [],
        },
      ],
      map,
    );
    // class a: g(0.7) = 0.4 + (0.2 / 0.4) · 0.2 = 0.5 → diagonal 5, rest 5 split 2 : 1
    expect(out.masses[0]?.probabilitySums.a).toBeCloseTo(5, 12);
    expect(out.masses[0]?.probabilitySums.b).toBeCloseTo(10 / 3, 12);
    expect(out.masses[0]?.probabilitySums.c).toBeCloseTo(5 / 3, 12);
    expect(out.masses[0]?.ownSquareSum).toBeCloseTo(2.5, 12);
    // class b has no map: raw, and counted outside the maps
    expect(out.masses[1]?.probabilitySums).toEqual({ a: 1, b: 4, c: 0 });
    expect(out.outside).toBe(5);
    expect(out.count).toBe(15);
  });
});

describe('the estimate document with the maps', () => {
  // 10 predictions of class a at own probability 0.7 (raw b 0.2, c 0.1 each), read as the
  // prediction stream's aggregations give them (performance-request.ts)
  const bucket = {
    doc_count: 10,
    by_predicted: {
      buckets: [
        {
          key: 'a',
          doc_count: 10,
          p_0: { sum: 7, sum_of_squares: 4.9 },
          p_1: { sum: 2, sum_of_squares: 0.4 },
          p_2: { sum: 1, sum_of_squares: 0.1 },
          right: { value: 0 },
        },
      ],
    },
    own_0: { doc_count: 10, bins: { buckets: [{ key: 0.7, doc_count: 10, mean: { value: 0.7 } }] } },
  };
  const settings = (trusted: boolean): Settings => ({
    ...settingsOf({ model: 'm', task: 'multiclass', window: { start: new Date(0), end: new Date(1) } }),
    classes: ['a', 'b', 'c'],
    multiclassCalibration: {
      method: 'top_label_isotonic',
      classes: {
        a: { method: 'isotonic', scores: [0.5, 0.9], probabilities: [0.4, 0.6], count: 400, positives: 200 },
      },
      count: 400,
      right: 200,
      cross_fit: {
        folds: 10,
        ece_raw: 0,
        ece_calibrated: 0,
        brier_raw: 0,
        brier_calibrated: 0,
        expected_accuracy: 0.5,
        realised_accuracy: 0.5,
        accuracy_z: trusted ? 0 : 4,
        trusted,
      },
    },
  });

  it('takes P(right) from the map: accuracy 0.5 where the raw probability said 0.7', () => {
    const e = multiclassEstimatedFields(bucket, undefined, settings(true));
    expect(e?.accuracy).toBeCloseTo(0.5, 12);
    // band: sqrt(Σ g(1 − g)) / n = sqrt(10 · 0.25) / 10
    expect(e?.accuracy_std_error).toBeCloseTo(Math.sqrt(2.5) / 10, 12);
    expect(e?.calibrated).toBe(true);
    expect(e?.calibration_trusted).toBe(true);
    expect(e?.reliable).toBeNull(); // no labels: not judged
  });

  it('a map that failed its reference out of fold flags every estimate made with it', () => {
    const e = multiclassEstimatedFields(bucket, undefined, settings(false));
    expect(e?.calibration_trusted).toBe(false);
    expect(e?.reliable).toBe(false);
    expect(e?.unreliable_reason).toEqual(['calibration_untrusted']);
  });
});
