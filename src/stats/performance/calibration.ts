/**
 * Score calibration by isotonic regression, the calibrator NannyML's CBPE fits on the reference
 * period before estimating anything.
 *
 * Method: the labelled reference predictions are grouped by distinct score (ties pooled into their
 * weighted mean, scikit-learn's and R isotone's "secondary" tie rule), and the pool-adjacent-
 * violators algorithm (PAV) turns the per-score positive rates into the non-decreasing sequence
 * closest to them in weighted least squares. The map keeps, as scikit-learn's `IsotonicRegression`
 * does, only the first and last score of each constant block (the points where the fitted value
 * changes); a new score is mapped by linear interpolation between those knots and clipped to the
 * first / last value outside them (`out_of_bounds="clip"`, the setting `CalibratedClassifierCV` and
 * NannyML use).
 *
 * Written here rather than taken from npm: the fit is ~40 lines, must accept weighted, pre-binned
 * input (bins from an Elasticsearch histogram, not raw rows) and must produce a small JSON map that
 * is stored with the baseline; the isotonic packages on npm take raw arrays only.
 */

/**
 * How a binary CBPE estimate treats scores: `isotonic` maps them through the reference period's
 * fitted map, `none` takes them as probabilities, `auto` fits the map only when, cross-fitted on
 * the reference, it calibrates better than the raw scores (NannyML's rule; calibration-crossfit.ts).
 */
export const CALIBRATION_MODES = ['isotonic', 'none', 'auto'] as const;
export type CalibrationMode = (typeof CALIBRATION_MODES)[number];

/** Labelled predictions sharing one score: how many, and how many were actually positive. */
export interface CalibrationPoint {
  score: number;
  count: number;
  positives: number;
}

/** A fitted monotone map from raw score to P(actual positive); plain JSON, stored with a baseline. */
export interface ScoreCalibration {
  method: 'isotonic';
  /** knots: raw scores, strictly increasing */
  scores: number[];
  /** calibrated probability at each knot, non-decreasing, in [0, 1] */
  probabilities: number[];
  /** labelled predictions the map was fitted on */
  count: number;
  /** of which actually positive */
  positives: number;
  /**
   * the map's out-of-fold quality on the reference (calibration-crossfit.ts), snake_case as stored;
   * absent on maps stored before it existed or fitted on too few labels to cross-fit
   */
  cross_fit?: {
    folds: number;
    ece_raw: number;
    ece_calibrated: number;
    brier_raw: number;
    brier_calibrated: number;
    expected_accuracy: number;
    realised_accuracy: number;
  };
}

export class CalibrationInputError extends Error {
  override name = 'CalibrationInputError';
}

/**
 * Pool adjacent violators: the non-decreasing sequence f minimising Σ w_i (y_i − f_i)², for values
 * already in the order of their x. Weights default to 1 and must be positive.
 */
export function isotonicRegression(values: readonly number[], weights?: readonly number[]): number[] {
  if (weights && weights.length !== values.length) {
    throw new CalibrationInputError('isotonicRegression: values and weights differ in length');
  }
  // blocks of pooled values: mean, total weight, how many inputs
  const means: number[] = [];
  const totals: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const y = values[i] as number;
    const w = weights ? (weights[i] as number) : 1;
    if (!Number.isFinite(y)) throw new CalibrationInputError(`isotonicRegression: value ${i} is not finite`);
    if (!(w > 0) || !Number.isFinite(w)) {
      throw new CalibrationInputError(`isotonicRegression: weight ${i} must be positive`);
    }
    let mean = y;
    let total = w;
    let size = 1;
    // merge backwards while the previous block is above the new one
    while (means.length > 0 && (means[means.length - 1] as number) > mean) {
      const pm = means.pop() as number;
      const pw = totals.pop() as number;
      mean = (pm * pw + mean * total) / (pw + total);
      total += pw;
      size += sizes.pop() as number;
    }
    means.push(mean);
    totals.push(total);
    sizes.push(size);
  }
  const out: number[] = [];
  for (let b = 0; b < means.length; b++) {
    for (let k = 0; k < (sizes[b] as number); k++) out.push(means[b] as number);
  }
  return out;
}

/**
 * Isotonic calibration from labelled points (any order; equal scores are pooled). Throws
 * {@link CalibrationInputError} when there is nothing to fit or a point is not a probability count.
 */
export function fitIsotonicCalibration(points: readonly CalibrationPoint[]): ScoreCalibration {
  const byScore = new Map<number, { count: number; positives: number }>();
  for (const [i, p] of points.entries()) {
    if (!Number.isFinite(p.score))
      throw new CalibrationInputError(`calibration point ${i}: score not finite`);
    if (!(p.count >= 0) || !Number.isFinite(p.count)) {
      throw new CalibrationInputError(`calibration point ${i}: count must be >= 0`);
    }
    if (!(p.positives >= 0 && p.positives <= p.count)) {
      throw new CalibrationInputError(`calibration point ${i}: positives must lie in [0, count]`);
    }
    if (p.count === 0) continue;
    const g = byScore.get(p.score) ?? { count: 0, positives: 0 };
    g.count += p.count;
    g.positives += p.positives;
    byScore.set(p.score, g);
  }
  const xs = [...byScore.keys()].sort((a, b) => a - b);
  if (xs.length === 0) throw new CalibrationInputError('calibration needs at least one labelled prediction');
  const groups = xs.map((x) => byScore.get(x) as { count: number; positives: number });
  const fitted = isotonicRegression(
    groups.map((g) => g.positives / g.count),
    groups.map((g) => g.count),
  );
  // keep the first and last knot of every constant block (scikit-learn's redundant-point pruning)
  const scores: number[] = [];
  const probabilities: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = fitted[i] as number;
    const changesBefore = i === 0 || fitted[i - 1] !== y;
    const changesAfter = i === xs.length - 1 || fitted[i + 1] !== y;
    if (changesBefore || changesAfter) {
      scores.push(xs[i] as number);
      probabilities.push(y);
    }
  }
  const count = groups.reduce((a, g) => a + g.count, 0);
  const positives = groups.reduce((a, g) => a + g.positives, 0);
  return { method: 'isotonic', scores, probabilities, count, positives };
}

/** Isotonic calibration from raw scores and 0/1 labels (offline mode, tests, files). */
export function fitIsotonicCalibrationFromScores(
  scores: readonly number[],
  actualPositive: readonly (boolean | 0 | 1)[],
): ScoreCalibration {
  if (scores.length !== actualPositive.length) {
    throw new CalibrationInputError('scores and labels differ in length');
  }
  return fitIsotonicCalibration(
    scores.map((score, i) => ({ score, count: 1, positives: actualPositive[i] ? 1 : 0 })),
  );
}

/** Checks a stored map (it comes back from Elasticsearch as JSON). */
export function checkCalibration(c: ScoreCalibration): void {
  const n = c.scores.length;
  if (c.method !== 'isotonic' || n === 0 || c.probabilities.length !== n) {
    throw new CalibrationInputError('calibration map must be isotonic with as many probabilities as scores');
  }
  for (let i = 0; i < n; i++) {
    const p = c.probabilities[i] as number;
    if (!(p >= 0 && p <= 1)) throw new CalibrationInputError(`calibration probability ${i} outside [0, 1]`);
    if (i > 0 && !((c.scores[i] as number) > (c.scores[i - 1] as number))) {
      throw new CalibrationInputError('calibration scores must be strictly increasing');
    }
    if (i > 0 && p < (c.probabilities[i - 1] as number)) {
      throw new CalibrationInputError('calibration probabilities must be non-decreasing');
    }
  }
}

/** Calibrated probability of a raw score: linear between knots, clipped outside them. */
export function calibrate(c: ScoreCalibration, score: number): number {
  const xs = c.scores;
  const ys = c.probabilities;
  const last = xs.length - 1;
  if (score <= (xs[0] as number)) return ys[0] as number;
  if (score >= (xs[last] as number)) return ys[last] as number;
  // binary search for the segment [xs[lo], xs[lo + 1]] holding the score
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= score) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const x1 = xs[hi] as number;
  const y0 = ys[lo] as number;
  const y1 = ys[hi] as number;
  return y0 + ((score - x0) / (x1 - x0)) * (y1 - y0);
}
