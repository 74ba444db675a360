/**
 * The pieces of issue 20's CBPE without Elasticsearch: the per-metric bands' level on many windows
 * of known truth, hand-worked standard errors, the prior-shift / concept-drift diagnosis, the
 * multi-class estimate and the cross-fitted calibration. Each expected number says where it comes
 * from.
 */
import { describe, expect, it } from 'vitest';
import {
  crossFitCalibration,
  diagnoseShift,
  estimateMulticlassWindow,
  estimateWindow,
  metricStdErrors,
  zOfLevel,
  type ScoreBin,
} from '../../src/stats/performance/index.js';
import { knownTruthRows } from '../helpers/known-truth.js';
import { seededRandom } from '../helpers/random.js';

/** 0.001 bins of raw scores, as the analyzer builds them from its histogram. */
function bins(scores: readonly number[]): ScoreBin[] {
  const counts = new Array<number>(1000).fill(0);
  const sums = new Array<number>(1000).fill(0);
  for (const s of scores) {
    const i = Math.min(999, Math.floor(s * 1000));
    counts[i]!++;
    sums[i]! += s;
  }
  return counts.map((count, i) => ({
    lower: i / 1000,
    upper: (i + 1) / 1000,
    count,
    meanScore: count === 0 ? null : (sums[i] as number) / count,
  }));
}

describe('sampling-error bands', () => {
  it('z of a two-sided level: 1.96 for 95 %, 3 for 99.73 %', () => {
    // standard normal quantiles (any table): Φ⁻¹(0.975) = 1.959964, Φ⁻¹(0.99865) = 3.0000
    expect(zOfLevel(0.95)).toBeCloseTo(1.959964, 5);
    expect(zOfLevel(0.9973)).toBeCloseTo(3.0, 3);
  });

  it('hand-worked standard errors of a four-prediction window', () => {
    // above the threshold c = 0.9, 0.6 (tp = 1.5, Va = 0.09 + 0.24 = 0.33); below c = 0.2, 0.1
    // (fn = 0.3, Vb = 0.16 + 0.09 = 0.25); n = 4, predicted positive 2, positives 1.8
    const e = metricStdErrors(
      { tp: 1.5, fn: 0.3, predictedPositive: 2, count: 4, varianceAbove: 0.33, varianceBelow: 0.25 },
      null,
    );
    expect(e.accuracy).toBeCloseTo(Math.sqrt(0.58) / 4, 12);
    expect(e.precision).toBeCloseTo(Math.sqrt(0.33) / 2, 12);
    // recall = tp / (tp + fn): ∂/∂tp = fn / P², ∂/∂fn = −tp / P², P = 1.8
    expect(e.recall).toBeCloseTo(Math.sqrt(0.09 * 0.33 + 2.25 * 0.25) / 3.24, 12);
    // F1 = 2tp / (tp + fn + 2): ∂/∂tp = 2(fn + 2) / D², ∂/∂fn = −2tp / D², D = 3.8
    expect(e.f1).toBeCloseTo((2 * Math.sqrt(2.3 ** 2 * 0.33 + 2.25 * 0.25)) / 3.8 ** 2, 12);
    expect(e.roc_auc).toBeNull();
  });

  it('95 % bands hold the realised metric in ≈ 95 % of 400 windows of true probabilities', () => {
    // labels drawn from the scores themselves (known truth, covariate shift): realised − estimated
    // is pure Bernoulli noise, so each band should hold it with probability 0.95; over 400 windows
    // the share has standard deviation sqrt(0.95 · 0.05 / 400) = 0.011, so [0.92, 0.98] is ± 2.7 SD.
    // ROC-AUC's Hanley–McNeil error also counts the variation of the score mix, so it errs wide.
    const rows = knownTruthRows({
      case: 'covariate',
      classes: 2,
      rowsPerWindow: 1000,
      referenceWindows: 0,
      analysisWindows: 400,
      seed: 7,
    });
    const inside: Record<string, number> = { accuracy: 0, precision: 0, recall: 0, f1: 0, roc_auc: 0 };
    for (let w = 0; w < 400; w++) {
      const win = rows.slice(w * 1000, (w + 1) * 1000);
      const e = estimateWindow({ bins: bins(win.map((r) => r.probabilities[1] as number)) });
      let tp = 0;
      let fp = 0;
      let fn = 0;
      let tn = 0;
      for (const r of win) {
        const pred = r.predicted === '1';
        const act = r.actual === '1';
        if (pred && act) tp++;
        else if (pred) fp++;
        else if (act) fn++;
        else tn++;
      }
      const realised: Record<string, number> = {
        accuracy: (tp + tn) / 1000,
        precision: tp / (tp + fp),
        recall: tp / (tp + fn),
        f1: (2 * tp) / (2 * tp + fp + fn),
      };
      for (const m of ['accuracy', 'precision', 'recall', 'f1'] as const) {
        const band = e.intervals[m]!;
        if ((realised[m] as number) >= band.lower && (realised[m] as number) <= band.upper) inside[m]!++;
      }
    }
    const share = Object.fromEntries(Object.entries(inside).map(([k, v]) => [k, v / 400]));
    console.log('[bands] share of 400 windows inside the 95 % band', JSON.stringify(share));
    for (const m of ['accuracy', 'precision', 'recall', 'f1']) {
      expect(share[m], m).toBeGreaterThanOrEqual(0.92);
      expect(share[m], m).toBeLessThanOrEqual(0.98);
    }
  });
});

describe('which assumption failed', () => {
  // 2000 labelled predictions at probabilities 0.1 … 0.9, labels drawn from a changed P(y | score)
  function labelled(truth: (c: number) => number, seed: number) {
    const random = seededRandom(seed);
    const points = [];
    for (let i = 1; i <= 9; i++) {
      const c = i / 10;
      let positives = 0;
      for (let k = 0; k < 200; k++) if (random() < truth(c)) positives++;
      points.push({ probability: c, count: 200, positives });
    }
    return points;
  }
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const logit = (p: number) => Math.log(p / (1 - p));

  it('a constant logit shift (prior shift) is recognised and its size recovered', () => {
    // priors moved from odds 1 to odds e: logit P(y | x) + 1 for every x
    const d = diagnoseShift(labelled((c) => sigmoid(logit(c) + 1), 1));
    expect(d.assumption).toBe('prior_shift');
    // the maximum-likelihood δ on 1800 labels has standard error ≈ 1/sqrt(Σ n c'(1 − c')) ≈ 0.06
    expect(d.logitShift).toBeGreaterThan(1 - 0.2);
    expect(d.logitShift).toBeLessThan(1 + 0.2);
  });

  it('a reversed relation (concept drift) is not a prior shift', () => {
    const d = diagnoseShift(labelled((c) => 1 - c, 2));
    expect(d.assumption).toBe('concept_drift');
    expect(d.shiftedFitP).toBeLessThan(1e-6);
  });
});

describe('multi-class estimate', () => {
  it('hand-worked: expected confusion matrix, accuracy and its standard error', () => {
    // predicted a: 2 predictions with p = (0.8, 0.2) and (0.6, 0.4): Σ p_a = 1.4, Σ p_b = 0.6,
    // Σ p_a² = 0.64 + 0.36 = 1.0; predicted b: 1 prediction p = (0.3, 0.7)
    const e = estimateMulticlassWindow({
      predicted: [
        { label: 'a', count: 2, probabilitySums: { a: 1.4, b: 0.6 }, ownSquareSum: 1.0 },
        { label: 'b', count: 1, probabilitySums: { a: 0.3, b: 0.7 }, ownSquareSum: 0.49 },
      ],
    });
    expect(e.confusionMatrix).toEqual({ a: { a: 1.4, b: 0.3 }, b: { a: 0.6, b: 0.7 } });
    expect(e.accuracy).toBeCloseTo(2.1 / 3, 12);
    // Σ q(1 − q) = 0.8·0.2 + 0.6·0.4 + 0.7·0.3 = 0.61
    expect(e.accuracyStdError).toBeCloseTo(Math.sqrt(0.61) / 3, 12);
    expect(e.check).toBeNull();
  });
});

describe('cross-fitted calibration', () => {
  it('calibrated scores gain nothing out of fold; over-confident ones do', () => {
    const random = seededRandom(3);
    const make = (sharpen: (p: number) => number) => {
      const byScore = new Map<number, { count: number; positives: number }>();
      for (let i = 0; i < 5000; i++) {
        const p = random();
        const s = Math.round(sharpen(p) * 1000) / 1000;
        const g = byScore.get(s) ?? { count: 0, positives: 0 };
        g.count++;
        if (random() < p) g.positives++;
        byScore.set(s, g);
      }
      return [...byScore].map(([score, g]) => ({ score, ...g }));
    };
    const calibrated = crossFitCalibration(make((p) => p))!;
    // scores that are probabilities: the raw ECE is sampling noise only (≈ 0.01 on 10 bins of 500),
    // and the out-of-fold map adds its own fitting noise: no proper score can beat the truth
    expect(calibrated.eceRaw).toBeLessThan(0.03);
    // the ECE alone would call for calibration here (see calibration-crossfit.ts); the Brier score not
    expect(calibrated.eceCalibrated).toBeLessThan(calibrated.eceRaw);
    expect(calibrated.brierCalibrated).toBeGreaterThan(calibrated.brierRaw);
    expect(calibrated.improves).toBe(false);
    // logit / 0.4: an over-confident model; its raw ECE is large and the map removes most of it
    const sharp = crossFitCalibration(make((p) => 1 / (1 + Math.exp(-Math.log(p / (1 - p)) / 0.4))))!;
    expect(sharp.eceRaw).toBeGreaterThan(0.05);
    expect(sharp.improves).toBe(true);
    expect(sharp.eceCalibrated).toBeLessThan(sharp.eceRaw / 2);
    // out of fold the map does not reproduce the reference exactly (no in-sample optimism) but is close
    expect(Math.abs(sharp.expectedAccuracy - sharp.realisedAccuracy)).toBeLessThan(0.02);
  });
});
