/**
 * Confidence-based performance estimation (CBPE) for binary classifiers with calibrated scores.
 *
 * Idea (as in NannyML's CBPE): if the score s of a prediction is a calibrated probability that the
 * actual label is positive, then before any label arrives each prediction is an expected fraction
 * of a confusion cell. Predicted positive (s ≥ threshold): s of a true positive and 1 − s of a false
 * positive; predicted negative: s of a false negative and 1 − s of a true negative. Summing gives
 * the expected confusion matrix of the window, and metrics follow:
 * - accuracy = (E[tp] + E[tn]) / n and precision = E[tp] / #predicted positive are exact
 *   expectations (their denominators do not depend on the labels);
 * - recall = E[tp] / E[P] and F1 = 2E[tp] / (2E[tp] + E[fp] + E[fn]) are ratios of expectations,
 *   which approach the expected ratio as the window grows (the error is O(1/n));
 * - ROC-AUC: the expected confusion matrix at every possible threshold traces an expected ROC curve
 *   whose area is the estimate. Concretely, a score bin (or a distinct score) with count c and mean
 *   score m holds c·m expected positives and c·(1 − m) expected negatives; the binned AUC of those
 *   expected counts ({@link rocAucFromBins}) is the area under that expected curve.
 *
 * Inputs are sufficient statistics the analyzer gets from aggregations on the prediction stream
 * (no labels needed): per score bin a count and the mean (or sum) of the scores, or just count and
 * score sum above and below the threshold. The estimate is only as good as the calibration; on
 * shifted data a calibrator fitted on the reference window keeps it honest, and a shift in P(y | x)
 * (concept drift) is invisible to it.
 */
import { type BinaryConfusion, type BinaryMetrics, binaryMetrics, checkThreshold } from './binary.js';
import { checkEdges, rocAucFromBins } from './roc.js';

/** Count and score sum of the predictions on one side of the threshold. */
export interface ScoreMass {
  /** number of predictions */
  count: number;
  /** Σ score (calibrated probability of the positive class) */
  scoreSum: number;
}

/** Predictions split at the decision threshold: `above` holds score ≥ threshold. */
export interface ThresholdSplit {
  above: ScoreMass;
  below: ScoreMass;
}

/** Expected (fractional) confusion counts. */
export type ExpectedConfusion = BinaryConfusion;

/** A bin of the score distribution: [lower, upper), with its count and mean score. */
export interface ScoreBin {
  lower: number;
  upper: number;
  count: number;
  /** mean score of the predictions in the bin (ignored when count = 0; may be null then) */
  meanScore: number | null;
}

/** Result of a CBPE estimate; field names follow `performance.estimated.*`. */
export interface CbpeEstimate extends BinaryMetrics {
  /** the expected confusion counts behind the metrics */
  confusion: ExpectedConfusion;
  /** estimated ROC-AUC; null when no score information is available or expected P or N is 0 */
  rocAuc: number | null;
}

function checkMass(m: ScoreMass, side: string): void {
  if (!(m.count >= 0) || !Number.isFinite(m.count)) throw new RangeError(`${side}.count must be >= 0`);
  // Σ score lies in [0, count] for scores in [0, 1]; allow rounding slack from the aggregation.
  const slack = 1e-9 * Math.max(1, m.count);
  if (!(m.scoreSum >= -slack && m.scoreSum <= m.count + slack)) {
    throw new RangeError(`${side}.scoreSum must lie in [0, count] for probabilities, got ${m.scoreSum}`);
  }
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Expected confusion counts from the score mass above and below the threshold. */
export function expectedConfusion(split: ThresholdSplit): ExpectedConfusion {
  checkMass(split.above, 'above');
  checkMass(split.below, 'below');
  const tp = clamp(split.above.scoreSum, 0, split.above.count);
  const fn = clamp(split.below.scoreSum, 0, split.below.count);
  return { tp, fp: split.above.count - tp, fn, tn: split.below.count - fn };
}

/** Expected accuracy, precision, recall, F1 at the threshold that produced `split` (no ROC-AUC). */
export function estimateFromSplit(split: ThresholdSplit): CbpeEstimate {
  const confusion = expectedConfusion(split);
  return { ...binaryMetrics(confusion), confusion, rocAuc: null };
}

function checkScore(s: number): void {
  if (!(s >= 0 && s <= 1)) throw new RangeError(`CBPE needs calibrated probabilities in [0, 1], got ${s}`);
}

/**
 * Full CBPE estimate from score bins (ascending, contiguous, e.g. a `histogram` aggregation with an
 * `avg` sub-aggregation). The threshold must fall on a bin edge: a bin that straddles it could not
 * be split into predicted positives and negatives (with 1000 bins of width 0.001, any threshold with
 * three decimals is an edge). Edges are compared with a 1e-9 tolerance so that 0.5 matches
 * 500 × 0.001.
 */
export function estimateFromBins(bins: readonly ScoreBin[], threshold = 0.5): CbpeEstimate {
  checkThreshold(threshold);
  if (bins.length > 0) {
    checkEdges([...bins.map((b) => b.lower), (bins[bins.length - 1] as ScoreBin).upper]);
  }
  const above: ScoreMass = { count: 0, scoreSum: 0 };
  const below: ScoreMass = { count: 0, scoreSum: 0 };
  const positives: number[] = [];
  const negatives: number[] = [];
  const tol = 1e-9;
  for (let i = 0; i < bins.length; i++) {
    const b = bins[i] as ScoreBin;
    if (i > 0 && Math.abs(b.lower - (bins[i - 1] as ScoreBin).upper) > tol) {
      throw new RangeError(`score bins must be contiguous (gap before bin ${i})`);
    }
    if (!(b.count >= 0) || !Number.isFinite(b.count)) throw new RangeError(`bin ${i}: invalid count`);
    if (b.count === 0) {
      // an empty bin may straddle the threshold: there is nothing in it to split
      positives.push(0);
      negatives.push(0);
      continue;
    }
    if (b.meanScore === null) throw new RangeError(`bin ${i}: meanScore missing for a non-empty bin`);
    checkScore(b.meanScore);
    const sum = b.count * b.meanScore;
    if (b.lower >= threshold - tol) {
      above.count += b.count;
      above.scoreSum += sum;
    } else if (b.upper <= threshold + tol) {
      below.count += b.count;
      below.scoreSum += sum;
    } else {
      throw new RangeError(
        `threshold ${threshold} falls inside score bin [${b.lower}, ${b.upper}); use bins with an edge at it`,
      );
    }
    positives.push(sum);
    negatives.push(b.count - sum);
  }
  const estimate = estimateFromSplit({ above, below });
  return { ...estimate, rocAuc: rocAucFromBins({ positives, negatives }).auc };
}

/**
 * Full CBPE estimate from raw calibrated scores (offline mode, tests). Each distinct score is its
 * own bin, which is exactly the expected ROC curve through every threshold.
 */
export function estimateFromScores(scores: readonly number[], threshold = 0.5): CbpeEstimate {
  checkThreshold(threshold);
  const above: ScoreMass = { count: 0, scoreSum: 0 };
  const below: ScoreMass = { count: 0, scoreSum: 0 };
  for (const s of scores) {
    checkScore(s);
    const side = s >= threshold ? above : below;
    side.count++;
    side.scoreSum += s;
  }
  const sorted = [...scores].sort((a, b) => a - b);
  const positives: number[] = [];
  const negatives: number[] = [];
  let k = 0;
  while (k < sorted.length) {
    const s = sorted[k] as number;
    let c = 0;
    while (k < sorted.length && sorted[k] === s) {
      c++;
      k++;
    }
    positives.push(c * s);
    negatives.push(c * (1 - s));
  }
  const estimate = estimateFromSplit({ above, below });
  return { ...estimate, rocAuc: rocAucFromBins({ positives, negatives }).auc };
}
