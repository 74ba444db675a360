/**
 * The label-free estimate (CBPE) fields of a performance document: binary from the score
 * histograms (`estimateWindow`), multi-class from the probability sums per predicted class
 * (`estimateMulticlassWindow`), each judged on the evaluation stream's labelled predictions. The
 * statistics live in stats/performance; this module turns buckets into their inputs and their
 * results into `performance.estimated.*` fields.
 */
import { type Bucket } from '../elastic/aggs.js';
import {
  calibrateMasses,
  estimateMulticlassWindow,
  estimateWindow,
  type CbpeWindowEstimate,
  type LabelledScoreBin,
  type MulticlassEstimate,
  type ScoreBin,
} from '../stats/performance/index.js';
import { SCORE_BINS, Settings, subOrEmpty, buckets, value, scoreBinIndex } from './performance-request.js';

/** Raw-score bins of a `score_bins` / `scores` histogram, ascending over [0, 1]. */
export function scoreBins(bucket: Bucket, name: string): Array<LabelledScoreBin & ScoreBin> {
  const counts = new Array<number>(SCORE_BINS).fill(0);
  const sums = new Array<number>(SCORE_BINS).fill(0);
  const positives = new Array<number>(SCORE_BINS).fill(0);
  for (const b of buckets(bucket, name)) {
    const i = scoreBinIndex(b.key as number);
    counts[i]! += b.doc_count;
    sums[i]! += b.doc_count * value(b, 'mean');
    positives[i]! += subOrEmpty(b, 'positive').doc_count;
  }
  return counts.map((count, i) => ({
    lower: i / SCORE_BINS,
    upper: (i + 1) / SCORE_BINS,
    count,
    meanScore: count === 0 ? null : Math.min(1, Math.max(0, (sums[i] as number) / count)),
    positives: positives[i] as number,
  }));
}

/**
 * CBPE estimate (calibrated, with band and reliability; `estimateWindow`) from a prediction-stream
 * bucket holding `score_bins` and, when labels exist, the evaluation bucket's `scores`; null when
 * not computable.
 */
export function estimatedFields(
  predBucket: Bucket,
  evalBucket: Bucket | undefined,
  s: Settings,
): Record<string, unknown> | null {
  const bins = scoreBins(predBucket, 'score_bins');
  if (bins.every((b) => b.count === 0)) return null;
  let e: CbpeWindowEstimate;
  try {
    e = estimateWindow({
      bins,
      threshold: s.threshold,
      calibration: s.calibration,
      labelled: evalBucket ? scoreBins(evalBucket, 'scores') : [],
    });
  } catch (error) {
    // Scores that are not probabilities cannot be turned into an estimate; the realised metrics
    // are unaffected, so the document is written without `performance.estimated`.
    if (error instanceof RangeError) return null;
    throw error;
  }
  return {
    count: e.count,
    accuracy: e.accuracy,
    precision: e.precision,
    recall: e.recall,
    f1: e.f1,
    roc_auc: e.rocAuc,
    positive_rate: e.positiveRate,
    prevalence: e.prevalence,
    confusion: e.confusion,
    calibrated: e.calibrated,
    accuracy_std_error: e.accuracyStdError,
    accuracy_lower: e.accuracyLower,
    accuracy_upper: e.accuracyUpper,
    band_sigmas: e.sigmas,
    sampling_error: e.stdErrors,
    interval_level: e.level,
    interval: e.intervals,
    outside_map_share: e.outsideMapShare,
    reliable: e.check?.reliable ?? null,
    unreliable_reason: e.check && e.check.reasons.length > 0 ? e.check.reasons : null,
    failed_assumptions: e.failedAssumptions.length > 0 ? e.failedAssumptions : null,
    check: e.check && {
      labelled: e.check.labelled,
      expected_accuracy: e.check.expectedAccuracy,
      realised_accuracy: e.check.realisedAccuracy,
      accuracy_z: e.check.accuracyZ,
      expected_positive_rate: e.check.expectedPositiveRate,
      actual_positive_rate: e.check.actualPositiveRate,
      positive_rate_z: e.check.positiveRateZ,
      logit_shift: e.check.diagnosis?.logitShift ?? null,
      shifted_fit_p: e.check.diagnosis?.shiftedFitP ?? null,
    },
  };
}

export interface ExtendedStats {
  count?: number;
  sum?: number | null;
  sum_of_squares?: number | null;
}

export const statsOf = (b: Bucket, name: string): ExtendedStats =>
  name in b ? (b[name] as ExtendedStats) : {};

/** Per predicted class: count, Σ p_k per class, Σ p_own² (and, on labelled documents, Σ eval.correct). */
export function predictedMasses(bucket: Bucket, s: Settings) {
  return buckets(bucket, 'by_predicted').map((b) => {
    const label = String(b.key);
    const own = s.classes.indexOf(label);
    const ownStats = own >= 0 ? statsOf(b, `p_${own}`) : {};
    return {
      label,
      count: b.doc_count,
      probabilitySums: Object.fromEntries(s.classes.map((c, i) => [c, statsOf(b, `p_${i}`).sum ?? 0])),
      ownSum: ownStats.sum ?? 0,
      ownSquareSum: ownStats.sum_of_squares ?? 0,
      right: value(b, 'right'),
    };
  });
}

/**
 * Per predicted class its raw masses with its own-probability bins (`own_<i>`, present only with
 * calibration maps), mapped through the class maps (stats/performance/cbpe-multiclass-calibration.ts).
 */
function calibratedMasses(bucket: Bucket, s: Settings) {
  const map = s.multiclassCalibration;
  if (!map) return null;
  const raw = predictedMasses(bucket, s).map((p) => {
    const i = s.classes.indexOf(p.label);
    const own = i >= 0 ? subOrEmpty(bucket, `own_${i}`) : { doc_count: 0 };
    return {
      ...p,
      bins: buckets(own, 'bins').map((b) => ({ count: b.doc_count, mean: value(b, 'mean') })),
    };
  });
  return calibrateMasses(raw, map);
}

/**
 * Multi-class CBPE (`estimateMulticlassWindow`) from the prediction stream's probability sums per
 * predicted class, judged on the evaluation stream's; with the reference's per-class maps
 * (`s.multiclassCalibration`) each prediction's P(right) is its class map's value. Null when not
 * computable (probabilities outside [0, 1]). The map's out-of-fold verdict is carried into the
 * document: an estimate made with a map that failed its own reference out of fold is unreliable
 * (`calibration_untrusted`), whatever the window's labels say.
 */
export function multiclassEstimatedFields(
  predBucket: Bucket,
  evalBucket: Bucket | undefined,
  s: Settings,
): Record<string, unknown> | null {
  const calibrated = calibratedMasses(predBucket, s);
  const predicted = calibrated?.masses ?? predictedMasses(predBucket, s);
  if (predicted.length === 0) return null;
  const actualCounts = new Map(
    evalBucket ? buckets(evalBucket, 'matrix').map((b) => [String(b.key), b.doc_count]) : [],
  );
  const labelledCalibrated = evalBucket ? calibratedMasses(evalBucket, s) : null;
  const labelledPredicted = evalBucket ? (labelledCalibrated?.masses ?? predictedMasses(evalBucket, s)) : [];
  // calibrated: a class's expected count is its column of the calibrated rows; Σ p² per class is
  // not kept per prediction, Σ_j row_j[k]² / count_j (≤ the true Σ p²) makes its σ err wide
  const classColumns = (k: string, i: number) =>
    labelledCalibrated
      ? {
          probabilitySum: labelledPredicted.reduce((a, p) => a + (p.probabilitySums[k] ?? 0), 0),
          squareSum: labelledPredicted.reduce(
            (a, p) => a + (p.count > 0 ? (p.probabilitySums[k] ?? 0) ** 2 / p.count : 0),
            0,
          ),
        }
      : {
          probabilitySum: statsOf(evalBucket as Bucket, `p_${i}`).sum ?? 0,
          squareSum: statsOf(evalBucket as Bucket, `p_${i}`).sum_of_squares ?? 0,
        };
  let e: MulticlassEstimate;
  try {
    e = estimateMulticlassWindow({
      predicted,
      labelled: evalBucket
        ? {
            predicted: labelledPredicted,
            classes: s.classes.map((c, i) => ({
              label: c,
              actual: actualCounts.get(c) ?? 0,
              ...classColumns(c, i),
            })),
          }
        : undefined,
    });
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
  const map = s.multiclassCalibration;
  const untrusted = map?.cross_fit?.trusted === false;
  const outsideMapShare = calibrated && calibrated.count > 0 ? calibrated.outside / calibrated.count : null;
  const reasons = [...(e.check?.reasons ?? []), ...(untrusted ? ['calibration_untrusted'] : [])];
  const failed: string[] = [...e.failedAssumptions];
  // as for binary (cbpe-window.ts `maxOutsideMap`): the maps only clip beyond their knots
  if (outsideMapShare !== null && outsideMapShare > 0.1 && !failed.includes('calibration_drift'))
    failed.push('calibration_drift');
  return {
    count: e.count,
    accuracy: e.accuracy,
    f1_macro: e.f1Macro,
    f1_weighted: e.f1Weighted,
    calibrated: map !== undefined,
    accuracy_std_error: e.accuracyStdError,
    accuracy_lower: e.accuracyLower,
    accuracy_upper: e.accuracyUpper,
    band_sigmas: e.sigmas,
    sampling_error: { accuracy: e.accuracyStdError },
    interval_level: e.level,
    interval: e.accuracyInterval ? { accuracy: e.accuracyInterval } : null,
    outside_map_share: outsideMapShare,
    calibration_trusted: map ? (map.cross_fit?.trusted ?? null) : null,
    reliable: untrusted ? false : (e.check?.reliable ?? null),
    unreliable_reason: reasons.length > 0 ? reasons : null,
    failed_assumptions: failed.length > 0 ? failed : null,
    check: e.check && {
      labelled: e.check.labelled,
      expected_accuracy: e.check.expectedAccuracy,
      realised_accuracy: e.check.realisedAccuracy,
      accuracy_z: e.check.accuracyZ,
      worst_class: e.check.worstClass,
      class_z: e.check.classZ,
      class_p: e.check.classP,
    },
  };
}
