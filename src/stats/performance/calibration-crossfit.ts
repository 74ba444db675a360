/**
 * Cross-fitted isotonic calibration: how well the reference map calibrates predictions it was not
 * fitted on, and whether it calibrates them better than the raw scores do.
 *
 * A map fitted on the reference reproduces the reference exactly (an isotonic fit's block means
 * are the block's positive rates), so judging it on the same rows is optimistic. As NannyML does
 * before calibrating (read: nannyml/nannyml `nannyml/calibration.py` `needs_calibration` at commit
 * 022b8fa6: repeated stratified 90/10 splits, the expected calibration error (ECE, 10 equal-count
 * bins) of raw and calibrated held-out scores, calibrate only when it is lower calibrated), the
 * labelled points are split into `folds` folds, each fold's rows are mapped through the map fitted
 * on the other folds, and raw and cross-fitted probabilities are compared on all rows by ECE and
 * Brier score. The folds are deterministic: a point (a 0.001 score bin: count, positives) hands its
 * positives and then its negatives round-robin to the folds, so every fold gets a stratified share of
 * every bin (rows within one bin differ in score by < 0.001, so which of them goes where does not
 * matter). The map used afterwards is still the fit on the whole reference.
 *
 * The decision differs from NannyML's in one point: "calibrate" means a lower out-of-fold **Brier
 * score**, not a lower ECE. The ECE over 10 bins rewards a fit that flattens noise inside its bins:
 * on 5000 scores that are exact probabilities, the out-of-fold map had ECE 0.0046 against 0.0065
 * raw (calibrate, says the ECE) but Brier 0.1685 against 0.1675 raw (worse, says the proper
 * scoring rule, and rightly: nothing can beat the true probabilities in expectation);
 * test/stats/cbpe-bands.test.ts.
 */
import { calibrate, fitIsotonicCalibration, type CalibrationPoint } from './calibration.js';

export interface CrossFit {
  folds: number;
  /** ECE of the raw scores over the reference (10 equal-count bins of raw score) */
  eceRaw: number;
  /** ECE of the cross-fitted calibrated probabilities over the same bins */
  eceCalibrated: number;
  brierRaw: number;
  brierCalibrated: number;
  /** Σ cross-fitted P(right) / n: the reference accuracy the estimate would have given, out of fold */
  expectedAccuracy: number;
  /** the reference's realised accuracy at the threshold */
  realisedAccuracy: number;
  /** Σ cross-fitted probability / n (the out-of-fold expected positive rate) */
  meanCalibrated: number;
  /** the cross-fitted map lowers the Brier score (see the module comment for why not the ECE) */
  improves: boolean;
}

interface Row {
  score: number;
  count: number;
  positives: number;
}

/** Splits each point's rows over `folds` folds, positives first, round-robin. */
function splitFolds(points: readonly CalibrationPoint[], folds: number): Row[][] {
  const out: Row[][] = Array.from({ length: folds }, () => []);
  let next = 0;
  for (const p of points) {
    const counts = new Array<number>(folds).fill(0);
    const positives = new Array<number>(folds).fill(0);
    for (let i = 0; i < p.count; i++) {
      const f = next % folds;
      next++;
      counts[f]!++;
      if (i < p.positives) positives[f]!++;
    }
    for (let f = 0; f < folds; f++)
      if ((counts[f] as number) > 0)
        out[f]!.push({ score: p.score, count: counts[f] as number, positives: positives[f] as number });
  }
  return out;
}

function ece(rows: ReadonlyArray<Row & { p: number }>, bins: number): number {
  const sorted = [...rows].sort((a, b) => a.score - b.score);
  const total = sorted.reduce((a, r) => a + r.count, 0);
  let sum = 0;
  let g = { n: 0, p: 0, y: 0 };
  let seen = 0;
  let edge = total / bins;
  for (const r of sorted) {
    g.n += r.count;
    g.p += r.count * r.p;
    g.y += r.positives;
    seen += r.count;
    if (seen >= edge - 1e-9) {
      sum += Math.abs(g.p - g.y);
      g = { n: 0, p: 0, y: 0 };
      edge = (Math.floor((seen * bins) / total) + 1) * (total / bins);
    }
  }
  sum += Math.abs(g.p - g.y);
  return sum / total;
}

/**
 * Cross-fitted comparison of raw and calibrated reference probabilities (module comment); null
 * when a fold would lack a class or there are fewer labelled rows than 2 × folds.
 */
export function crossFitCalibration(
  points: readonly CalibrationPoint[],
  options: { folds?: number; threshold?: number } = {},
): CrossFit | null {
  const folds = options.folds ?? 10;
  const threshold = options.threshold ?? 0.5;
  const total = points.reduce((a, p) => a + p.count, 0);
  if (total < 2 * folds) return null;
  const split = splitFolds(points, folds);
  const rows: Array<Row & { p: number }> = [];
  for (let f = 0; f < folds; f++) {
    const train = split.filter((_, g) => g !== f).flat();
    const positives = train.reduce((a, r) => a + r.positives, 0);
    const count = train.reduce((a, r) => a + r.count, 0);
    if (positives === 0 || positives === count) return null;
    const map = fitIsotonicCalibration(train);
    for (const r of split[f] as Row[]) rows.push({ ...r, p: calibrate(map, r.score) });
  }
  let brierRaw = 0;
  let brierCalibrated = 0;
  let expectedRight = 0;
  let right = 0;
  let sumCalibrated = 0;
  for (const r of rows) {
    sumCalibrated += r.count * r.p;
    const neg = r.count - r.positives;
    // Σ (p − y)² over the group's rows: positives contribute (1 − p)², negatives p²
    brierRaw += r.positives * (1 - r.score) ** 2 + neg * r.score ** 2;
    brierCalibrated += r.positives * (1 - r.p) ** 2 + neg * r.p ** 2;
    const above = r.score >= threshold;
    expectedRight += r.count * (above ? r.p : 1 - r.p);
    right += above ? r.positives : neg;
  }
  const eceRaw = ece(
    rows.map((r) => ({ ...r, p: r.score })),
    10,
  );
  const eceCalibrated = ece(rows, 10);
  return {
    folds,
    eceRaw,
    eceCalibrated,
    brierRaw: brierRaw / total,
    brierCalibrated: brierCalibrated / total,
    expectedAccuracy: expectedRight / total,
    realisedAccuracy: right / total,
    meanCalibrated: sumCalibrated / total,
    improves: brierCalibrated < brierRaw,
  };
}
