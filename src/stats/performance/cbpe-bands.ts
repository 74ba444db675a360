/**
 * Sampling-error bands of a CBPE estimate from the window's own size, and the diagnosis of which
 * assumption failed when a window's labels contradict the estimate.
 *
 * Bands. NannyML (read: nannyml/nannyml `nannyml/sampling_error/binary_classification.py` at
 * commit 06e1375d, and its docs "Estimation of Standard Error") gives every metric a standard error
 * σ_ref / sqrt(n · fraction): σ_ref the standard deviation of the metric's per-observation terms on
 * the reference, n the chunk size, fraction the share of the chunk the metric is a mean over (all
 * rows for accuracy, predicted positives for precision, actual positives for recall), and draws its
 * band at ± 3 sampling errors. mlmon keeps the dependence on the window's size (small windows get
 * wide bands) and the 3σ alert width, but takes the variance from the window's own calibrated
 * probabilities rather than from the reference: given the window's scores, a prediction with
 * calibrated probability c is a Bernoulli(c) draw, so the realised counts have known variance
 * (Σ c(1 − c) over the cells involved) and the realised metric's spread around its estimate
 * follows from it (exactly for accuracy and precision, whose denominators are known before the
 * labels; by the delta method for recall and F1). This is the spread of realised − estimated that a
 * band must cover; the reference's σ also counts the variation of the score mix between chunks,
 * which does not move realised and estimated apart, so it is wider (about 1.1–1.3× at accuracies of
 * 0.8–0.9) and under covariate shift describes the reference rather than the window. ROC-AUC:
 * Hanley & McNeil (1982), with the window's expected positives and negatives.
 *
 * Diagnosis. When the labels contradict the reference calibration P(y | score), one cause has a
 * fingerprint the labels can show: a **prior shift** (P(y) moved, P(x | y) stayed) moves
 * logit P(y | x) by one constant, log(odds'/odds), for every x. So the labelled predictions are
 * refitted with c' = σ(logit c + δ) (one parameter, Newton's method on the Bernoulli likelihood);
 * if the shifted probabilities fit the labels (a Hosmer–Lemeshow statistic over groups of c, p ≥
 * 0.001), the verdict is `prior_shift`; if no constant shift fits, P(y | x) changed in a way that
 * depends on x: `concept_drift`.
 */
import { chiSquareSf } from '../drift/gamma.js';

/** Σ c(1 − c) and expected counts on each side of the threshold (c the calibrated probability). */
export interface BernoulliSides {
  /** expected true positives (Σ c over predicted positives) */
  tp: number;
  /** expected false negatives (Σ c over predicted negatives) */
  fn: number;
  /** predicted positives */
  predictedPositive: number;
  /** predictions */
  count: number;
  /** Σ c(1 − c) over predicted positives */
  varianceAbove: number;
  /** Σ c(1 − c) over predicted negatives */
  varianceBelow: number;
}

/** Standard error of each estimated metric; null where the metric is undefined. */
export interface MetricStdErrors {
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
}

/** Sampling errors of the realised metrics around the estimate (see the module comment). */
export function metricStdErrors(s: BernoulliSides, rocAuc: number | null): MetricStdErrors {
  const { tp, fn, predictedPositive: pp, count: n, varianceAbove: va, varianceBelow: vb } = s;
  const positives = tp + fn;
  const d = tp + fn + pp; // F1 = 2tp / (tp + fn + predicted positives)
  const negatives = n - positives;
  let auc: number | null = null;
  if (rocAuc !== null && positives > 1 && negatives > 1) {
    // Hanley & McNeil 1982, eq. 2, with the expected class counts
    const q1 = rocAuc / (2 - rocAuc);
    const q2 = (2 * rocAuc * rocAuc) / (1 + rocAuc);
    const v =
      (rocAuc * (1 - rocAuc) +
        (positives - 1) * (q1 - rocAuc * rocAuc) +
        (negatives - 1) * (q2 - rocAuc * rocAuc)) /
      (positives * negatives);
    auc = Math.sqrt(Math.max(0, v));
  }
  return {
    accuracy: n > 0 ? Math.sqrt(va + vb) / n : null,
    precision: pp > 0 ? Math.sqrt(va) / pp : null,
    recall: positives > 0 ? Math.sqrt(fn * fn * va + tp * tp * vb) / (positives * positives) : null,
    f1: d > 0 ? (2 * Math.sqrt((fn + pp) ** 2 * va + tp * tp * vb)) / (d * d) : null,
    roc_auc: auc,
  };
}

/** z of a two-sided normal probability: 1.96 for 0.95. */
export function zOfLevel(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`band level must lie in (0, 1), got ${level}`);
  // Acklam's rational approximation of the normal quantile (relative error < 1.2e-9)
  const p = 1 - (1 - level) / 2;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const dd = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((dd[0]! * q + dd[1]!) * q + dd[2]!) * q + dd[3]!) * q + 1);
  if (p > 0.97575) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Labelled predictions sharing one calibrated probability: how many, how many positive. */
export interface LabelledProbability {
  probability: number;
  count: number;
  positives: number;
}

/** Which assumption of the estimate the labels say failed. */
export type FailedAssumption = 'calibration_drift' | 'prior_shift' | 'concept_drift';

export interface ShiftDiagnosis {
  /** the fitted shift of logit P(y | score): log(odds'/odds) under a prior shift */
  logitShift: number;
  /** Hosmer–Lemeshow p-value of the labels against the shifted probabilities */
  shiftedFitP: number;
  assumption: 'prior_shift' | 'concept_drift';
}

const logit = (p: number): number => Math.log(p / (1 - p));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clampOpen = (p: number): number => Math.min(1 - 1e-9, Math.max(1e-9, p));

/**
 * Fits the constant logit shift δ to labelled predictions and tests whether σ(logit c + δ) fits
 * them (module comment). `groups` equal-count groups of c for the Hosmer–Lemeshow statistic.
 */
export function diagnoseShift(
  labelled: readonly LabelledProbability[],
  options: { groups?: number; minP?: number } = {},
): ShiftDiagnosis {
  const points = labelled
    .filter((p) => p.count > 0)
    .map((p) => ({ ...p, z: logit(clampOpen(p.probability)) }))
    .sort((a, b) => a.z - b.z);
  let delta = 0;
  for (let it = 0; it < 50; it++) {
    let score = 0;
    let info = 0;
    for (const p of points) {
      const c = sigmoid(p.z + delta);
      score += p.positives - p.count * c;
      info += p.count * c * (1 - c);
    }
    if (!(info > 0)) break;
    const step = Math.max(-5, Math.min(5, score / info));
    delta += step;
    if (Math.abs(step) < 1e-10) break;
  }
  const total = points.reduce((a, p) => a + p.count, 0);
  const groups = Math.max(2, Math.min(options.groups ?? 10, points.length));
  let stat = 0;
  let used = 0;
  let g = { o: 0, e: 0, v: 0, n: 0 };
  let seen = 0;
  let next = 1;
  const close = (): void => {
    if (g.v > 0) {
      stat += (g.o - g.e) ** 2 / g.v;
      used++;
    }
    g = { o: 0, e: 0, v: 0, n: 0 };
  };
  for (const p of points) {
    const c = sigmoid(p.z + delta);
    g.o += p.positives;
    g.e += p.count * c;
    g.v += p.count * c * (1 - c);
    g.n += p.count;
    seen += p.count;
    if (seen >= (next * total) / groups) {
      close();
      next = Math.floor((seen * groups) / total) + 1;
    }
  }
  if (g.n > 0) close();
  // one parameter fitted: used − 1 degrees of freedom (at least 1)
  const shiftedFitP = used > 0 ? chiSquareSf(stat, Math.max(1, used - 1)) : 1;
  const minP = options.minP ?? 0.001;
  return {
    logitShift: delta,
    shiftedFitP,
    assumption: shiftedFitP >= minP ? 'prior_shift' : 'concept_drift',
  };
}
