/**
 * One window's CBPE estimate as the analyzer stores it: calibrated, with a confidence band, and
 * with a verdict on whether it can be trusted once some of the window's labels are known.
 *
 * - Calibration: each score bin's mean raw score is mapped through the reference period's isotonic
 *   calibration ({@link calibrate}) before the expectation is taken; predicted positive stays
 *   "raw score ≥ threshold" (the model's decision does not change, only how likely it is right).
 *   Mapping the bin mean rather than every score differs from the per-score expectation only inside
 *   a 0.001-wide bin.
 * - Band: a prediction with calibrated probability c is right with probability c (predicted
 *   positive) or 1 − c (predicted negative), a Bernoulli variable of variance c(1 − c) either way.
 *   If the calibration holds, the realised accuracy of n independent predictions has mean
 *   Σ P(right)/n (the estimate) and standard error sqrt(Σ c(1 − c))/n. With the bin means in place
 *   of each c this is an upper bound (c(1 − c) is concave), so the band errs wide. The band is
 *   ± `sigmas` standard errors (default 3, NannyML's choice for its alert thresholds: a window whose
 *   assumptions hold leaves it with probability ≈ 0.3 % under the normal approximation). It covers
 *   sampling noise only, not error in the calibration map itself.
 * - Reliability, judged on the labelled predictions of the window (any coverage: the labelled ones
 *   are compared with their own expectation, so partial labels are no bias), from at least
 *   `minLabelled` of them; otherwise the verdict is left out (unknown):
 *   - `accuracy_outside_band`: their realised accuracy differs from their expected accuracy by more
 *     than `sigmas` standard errors — the estimate visibly failed;
 *   - `calibration_shift`: their count of actual positives differs from the expected Σ c by more
 *     than `sigmas` standard deviations (sqrt(Σ c(1 − c)), the same Bernoulli sum) — P(y | score)
 *     moved away from the reference, i.e. concept drift, which CBPE cannot see by construction.
 */
import { checkThreshold } from './binary.js';
import { calibrate, checkCalibration, type ScoreCalibration } from './calibration.js';
import { estimateFromBins, type CbpeEstimate, type ScoreBin } from './cbpe.js';
import {
  diagnoseShift,
  metricStdErrors,
  zOfLevel,
  type FailedAssumption,
  type MetricStdErrors,
  type ShiftDiagnosis,
} from './cbpe-bands.js';

/** Labelled predictions in one raw-score bin: count, mean raw score, actual positives. */
export interface LabelledScoreBin {
  lower: number;
  upper: number;
  count: number;
  /** mean raw score of the bin's labelled predictions (null when count = 0) */
  meanScore: number | null;
  positives: number;
}

export interface CbpeWindowOptions {
  /** raw-score bins of every prediction in the window (ascending, contiguous) */
  bins: readonly ScoreBin[];
  /** predicted positive when raw score ≥ threshold (default 0.5; must be a bin edge) */
  threshold?: number;
  /** the reference period's calibration; without it raw scores are taken as probabilities */
  calibration?: ScoreCalibration;
  /** raw-score bins of the window's labelled predictions */
  labelled?: readonly LabelledScoreBin[];
  /** half-width of the band in standard errors (default 3) */
  sigmas?: number;
  /** fewest labelled predictions to judge reliability on (default 30) */
  minLabelled?: number;
  /** two-sided level of the per-metric bands in `intervals` (default 0.95) */
  level?: number;
  /**
   * share of the window's predictions whose raw score lies outside the range the calibration map
   * was fitted on above which the estimate is flagged `calibration_drift` (default 0.1): the map
   * only clips there, the reference says nothing about P(y | score) at those scores
   */
  maxOutsideMap?: number;
}

/** A band of one estimated metric. */
export interface MetricInterval {
  lower: number;
  upper: number;
}

export type UnreliableReason = 'accuracy_outside_band' | 'calibration_shift';

/** The comparison behind the verdict, on the labelled predictions. */
export interface CbpeCheck {
  labelled: number;
  expectedAccuracy: number;
  realisedAccuracy: number;
  /** (realised − expected accuracy) in standard errors */
  accuracyZ: number;
  expectedPositiveRate: number;
  actualPositiveRate: number;
  /** (actual − expected positives) in standard deviations */
  positiveRateZ: number;
  reliable: boolean;
  reasons: UnreliableReason[];
  /** when the labels contradict the estimate: whether a prior shift explains it (cbpe-bands.ts) */
  diagnosis: ShiftDiagnosis | null;
}

export interface CbpeWindowEstimate extends CbpeEstimate {
  calibrated: boolean;
  /** standard error of the estimated accuracy (see the module comment); null when n = 0 */
  accuracyStdError: number | null;
  accuracyLower: number | null;
  accuracyUpper: number | null;
  sigmas: number;
  /** null when fewer than `minLabelled` predictions are labelled */
  check: CbpeCheck | null;
  /** sampling error of each metric from the window's own size (cbpe-bands.ts) */
  stdErrors: MetricStdErrors;
  /** the level of `intervals` (0.95) */
  level: number;
  /** estimate ∓ z(level) · standard error per metric, clipped to [0, 1] */
  intervals: Partial<Record<keyof MetricStdErrors, MetricInterval>>;
  /** share of predictions with a raw score outside the calibration map's knots (null: no map) */
  outsideMapShare: number | null;
  /** the assumptions the window's scores (label-free) and labels say failed; empty: none seen */
  failedAssumptions: FailedAssumption[];
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const zOf = (difference: number, sd: number): number =>
  sd > 0 ? difference / sd : difference === 0 ? 0 : Math.sign(difference) * Infinity;

export function estimateWindow(options: CbpeWindowOptions): CbpeWindowEstimate {
  const threshold = options.threshold ?? 0.5;
  checkThreshold(threshold);
  const sigmas = options.sigmas ?? 3;
  const minLabelled = options.minLabelled ?? 30;
  if (!(sigmas > 0)) throw new RangeError(`sigmas must be > 0, got ${sigmas}`);
  const calibration = options.calibration;
  if (calibration) checkCalibration(calibration);
  const probability = (raw: number): number => clamp01(calibration ? calibrate(calibration, raw) : raw);

  const bins: ScoreBin[] = options.bins.map((b) => ({
    ...b,
    meanScore: b.count === 0 || b.meanScore === null ? b.meanScore : probability(b.meanScore),
  }));
  const estimate = estimateFromBins(bins, threshold);
  const tol = 1e-9;
  let varianceAbove = 0;
  let varianceBelow = 0;
  let outside = 0;
  const first = calibration ? (calibration.scores[0] as number) : 0;
  const last = calibration ? (calibration.scores[calibration.scores.length - 1] as number) : 1;
  for (const [i, b] of bins.entries()) {
    if (b.count === 0) continue;
    const c = b.meanScore as number;
    if (b.lower >= threshold - tol) varianceAbove += b.count * c * (1 - c);
    else varianceBelow += b.count * c * (1 - c);
    const raw = options.bins[i]?.meanScore as number;
    // one bin of slack: a score in the bin of the first or last knot is inside the map's range
    if (calibration && (raw < first - 0.001 || raw > last + 0.001)) outside += b.count;
  }
  const n = estimate.count;
  const se = n > 0 ? Math.sqrt(varianceAbove + varianceBelow) / n : null;
  const band = (x: number | null): [number | null, number | null] =>
    x === null || se === null ? [null, null] : [clamp01(x - sigmas * se), clamp01(x + sigmas * se)];
  const [accuracyLower, accuracyUpper] = band(estimate.accuracy);
  const stdErrors = metricStdErrors(
    {
      tp: estimate.confusion.tp,
      fn: estimate.confusion.fn,
      predictedPositive: estimate.confusion.tp + estimate.confusion.fp,
      count: n,
      varianceAbove,
      varianceBelow,
    },
    estimate.rocAuc,
  );
  const level = options.level ?? 0.95;
  const z = zOfLevel(level);
  const values: Record<keyof MetricStdErrors, number | null> = {
    accuracy: estimate.accuracy,
    precision: estimate.precision,
    recall: estimate.recall,
    f1: estimate.f1,
    roc_auc: estimate.rocAuc,
  };
  const intervals: Partial<Record<keyof MetricStdErrors, MetricInterval>> = {};
  for (const k of Object.keys(values) as Array<keyof MetricStdErrors>) {
    const v = values[k];
    const e = stdErrors[k];
    if (v !== null && e !== null) intervals[k] = { lower: clamp01(v - z * e), upper: clamp01(v + z * e) };
  }
  const outsideMapShare = calibration && n > 0 ? outside / n : null;
  const check = checkLabelled(options.labelled ?? [], threshold, probability, sigmas, minLabelled);
  const failedAssumptions: FailedAssumption[] = [];
  if (outsideMapShare !== null && outsideMapShare > (options.maxOutsideMap ?? 0.1))
    failedAssumptions.push('calibration_drift');
  // Without a reference map the scores were never checked against the reference's P(y | score):
  // a mismatch that no prior shift explains may be the model's own miscalibration, not a change.
  if (check?.diagnosis)
    failedAssumptions.push(
      calibration || check.diagnosis.assumption === 'prior_shift'
        ? check.diagnosis.assumption
        : 'calibration_drift',
    );

  return {
    ...estimate,
    calibrated: calibration !== undefined,
    accuracyStdError: se,
    accuracyLower,
    accuracyUpper,
    sigmas,
    check,
    stdErrors,
    level,
    intervals,
    outsideMapShare,
    failedAssumptions,
  };
}

function checkLabelled(
  labelled: readonly LabelledScoreBin[],
  threshold: number,
  probability: (raw: number) => number,
  sigmas: number,
  minLabelled: number,
): CbpeCheck | null {
  let count = 0;
  let expectedRight = 0;
  let right = 0;
  let expectedPositives = 0;
  let positives = 0;
  let variance = 0;
  const tol = 1e-9;
  const points: Array<{ probability: number; count: number; positives: number }> = [];
  for (const [i, b] of labelled.entries()) {
    if (b.count === 0) continue;
    if (!(b.positives >= 0 && b.positives <= b.count)) {
      throw new RangeError(`labelled bin ${i}: positives must lie in [0, count]`);
    }
    if (b.meanScore === null)
      throw new RangeError(`labelled bin ${i}: meanScore missing for a non-empty bin`);
    const above = b.lower >= threshold - tol;
    if (!above && b.upper > threshold + tol) {
      throw new RangeError(`threshold ${threshold} falls inside labelled bin [${b.lower}, ${b.upper})`);
    }
    const c = probability(b.meanScore);
    count += b.count;
    expectedPositives += b.count * c;
    positives += b.positives;
    expectedRight += above ? b.count * c : b.count * (1 - c);
    right += above ? b.positives : b.count - b.positives;
    variance += b.count * c * (1 - c);
    points.push({ probability: c, count: b.count, positives: b.positives });
  }
  if (count < minLabelled) return null;
  const sd = Math.sqrt(variance);
  const accuracyZ = zOf(right - expectedRight, sd);
  const positiveRateZ = zOf(positives - expectedPositives, sd);
  const reasons: UnreliableReason[] = [];
  if (Math.abs(accuracyZ) > sigmas) reasons.push('accuracy_outside_band');
  if (Math.abs(positiveRateZ) > sigmas) reasons.push('calibration_shift');
  return {
    labelled: count,
    expectedAccuracy: expectedRight / count,
    realisedAccuracy: right / count,
    accuracyZ,
    expectedPositiveRate: expectedPositives / count,
    actualPositiveRate: positives / count,
    positiveRateZ,
    reliable: reasons.length === 0,
    reasons,
    diagnosis: reasons.length > 0 ? diagnoseShift(points) : null,
  };
}
