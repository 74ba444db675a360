/**
 * Calibration of a multi-class model's probabilities for the label-free estimate (issue 27): one
 * isotonic map per predicted class j, from the predicted class's own probability p_j to
 * P(actual = j | predicted j, p_j), i.e. P(right) — "top-label" calibration (Gupta & Ramdas,
 * "Top-label calibration and multiclass-to-binary reductions", ICLR 2022).
 *
 * Why not NannyML's map: its multi-class CBPE (read: nannyml/nannyml
 * `performance_estimation/confidence_based/_cbpe_multiclass_classification.py` at commit 3c392000,
 * `_fit_calibrators` and `_calibrate_predicted_probabilities`) fits one isotonic map per class
 * one-vs-rest on p_k and then divides each row's calibrated vector by its sum. That division is per
 * row: it needs every prediction's whole probability vector, which aggregations over a window do not
 * keep, and the Elasticsearch distributions mlmon runs on have no scripting module (no painless, so
 * no runtime field could compute it). The top-label map needs only what a histogram gives — per
 * predicted class the count and mean of p_j in 0.001 bins, and on labelled rows how many were
 * right — and it calibrates exactly the quantity the accuracy estimate sums (P(right) of each
 * prediction), where the one-vs-rest map after normalisation only approximates it.
 *
 * The confusion matrix's off-diagonal cells (for F1) keep the raw proportions among the other
 * classes: a row predicted j gets 1 − P(right) spread over k ≠ j as the raw Σ p_k are spread.
 *
 * A map is trusted when, cross-fitted on the reference (calibration-crossfit.ts, 10 folds per class),
 * its out-of-fold expected accuracy lies within 3 standard errors of the reference's realised accuracy
 * (the same Bernoulli error as the window's band): a map that cannot predict its own reference out of
 * fold is over-fitted or the reference is too small, and every estimate made with it is flagged.
 */
import { calibrate, type ScoreCalibration } from './calibration.js';
import type { CrossFit } from './calibration-crossfit.js';
import type { PredictedClassMass } from './cbpe-multiclass.js';

/** Per predicted class, the map of its own probability to P(right); plain JSON, stored with a baseline. */
export interface MulticlassCalibration {
  method: 'top_label_isotonic';
  /** predicted class → map (the binary map's shape: `positives` are the right predictions) */
  classes: Record<string, ScoreCalibration>;
  /** predicted classes of the reference without a map, and why (e.g. too few labels) */
  uncalibrated?: Record<string, string>;
  /** labelled reference predictions, and how many were right */
  count: number;
  right: number;
  /**
   * out-of-fold quality over the mapped classes (see the module comment): the binary map's figures
   * (count-weighted means of the per-class ones; expected and realised accuracy over the mapped
   * classes' predictions), with (realised − expected) · n / sqrt(n · e(1 − e)) and the verdict;
   * absent when not cross-fitted
   */
  cross_fit?: NonNullable<ScoreCalibration['cross_fit']> & { accuracy_z: number; trusted: boolean };
}

/** Beyond this many standard errors out of fold, the map is not trusted (as the window's band). */
export const MULTICLASS_MAP_SIGMAS = 3;

/** The per-class cross-fits of the mapped classes, summarised (module comment). */
export function summariseCrossFits(
  fits: ReadonlyArray<{ count: number; right: number; fit: CrossFit }>,
): MulticlassCalibration['cross_fit'] | undefined {
  const n = fits.reduce((a, f) => a + f.count, 0);
  if (fits.length === 0 || n === 0) return undefined;
  const mean = (get: (f: CrossFit) => number): number =>
    fits.reduce((a, f) => a + f.count * get(f.fit), 0) / n;
  const expected = mean((f) => f.meanCalibrated);
  const realised = fits.reduce((a, f) => a + f.right, 0) / n;
  const sd = Math.sqrt(n * expected * (1 - expected));
  const diff = (realised - expected) * n;
  const z = sd > 0 ? diff / sd : diff === 0 ? 0 : Math.sign(diff) * Infinity;
  return {
    folds: fits[0]?.fit.folds ?? 0,
    ece_raw: mean((f) => f.eceRaw),
    ece_calibrated: mean((f) => f.eceCalibrated),
    brier_raw: mean((f) => f.brierRaw),
    brier_calibrated: mean((f) => f.brierCalibrated),
    expected_accuracy: expected,
    realised_accuracy: realised,
    accuracy_z: z,
    trusted: Math.abs(z) <= MULTICLASS_MAP_SIGMAS,
  };
}

/** One 0.001 bin of a predicted class's own probability: count, mean own probability. */
export interface OwnProbabilityBin {
  count: number;
  mean: number;
}

/** Raw masses of one predicted class (as cbpe-multiclass.ts takes them), with its own-probability bins. */
export interface RawPredictedClass extends PredictedClassMass {
  /** Σ p_own (raw) */
  ownSum: number;
  bins: readonly OwnProbabilityBin[];
}

export interface CalibratedMasses<T extends RawPredictedClass = RawPredictedClass> {
  /** the input classes with calibrated `probabilitySums`, `ownSum`, `ownSquareSum` */
  masses: T[];
  /** predictions whose class has no map or whose own probability lies outside the map's knots */
  outside: number;
  count: number;
}

/**
 * The masses of each predicted class with P(right) taken from the class's map (module comment):
 * the diagonal is Σ g_j(p_j) over the bins, its square sum Σ g_j(p_j)² (for the band), and the rest
 * of the row (count − diagonal) goes to the other classes in their raw proportions. A class without
 * a map keeps its raw masses and counts as outside.
 */
export function calibrateMasses<T extends RawPredictedClass>(
  predicted: readonly T[],
  calibration: MulticlassCalibration,
): CalibratedMasses<T> {
  let outside = 0;
  let count = 0;
  const masses = predicted.map((p): T => {
    count += p.count;
    const map = calibration.classes[p.label];
    if (!map || p.count === 0) {
      outside += p.count;
      return { ...p };
    }
    let binned = 0;
    let own = 0;
    let square = 0;
    const lo = map.scores[0] as number;
    const hi = map.scores[map.scores.length - 1] as number;
    for (const b of p.bins) {
      const g = Math.min(1, Math.max(0, calibrate(map, b.mean)));
      binned += b.count;
      own += b.count * g;
      square += b.count * g * g;
      if (b.mean < lo || b.mean > hi) outside += b.count;
    }
    // predictions of this class without an own probability keep their raw share (rescaled as
    // cbpe-multiclass.ts rescales a row)
    const rawTotal = Object.values(p.probabilitySums).reduce((a, x) => a + x, 0);
    const rest = Math.max(0, p.count - binned);
    if (rest > 0 && rawTotal > 0) own += (rest * (p.probabilitySums[p.label] ?? 0)) / rawTotal;
    const others = Object.entries(p.probabilitySums).filter(([k]) => k !== p.label);
    const rawOthers = others.reduce((a, [, x]) => a + x, 0);
    const residual = Math.max(0, p.count - own);
    const sums: Record<string, number> = { [p.label]: own };
    for (const [k, x] of others)
      sums[k] = rawOthers > 0 ? (residual * x) / rawOthers : residual / Math.max(1, others.length);
    return { ...p, probabilitySums: sums, ownSum: own, ownSquareSum: square };
  });
  return { masses, outside, count };
}
