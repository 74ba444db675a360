/**
 * CBPE for multi-class classifiers, written like the binary estimate (cbpe.ts, cbpe-window.ts).
 *
 * If the class probabilities p_k of a prediction are calibrated, a prediction of class j is an
 * actual k with probability p_k, so the expected confusion matrix is E[actual k, predicted j] =
 * Σ_{predictions of j} p_k, and accuracy, per-class precision / recall / F1 and their macro and
 * weighted means follow from it (NannyML's multi-class CBPE does the same from one-vs-rest
 * calibrated probabilities; read: nannyml/nannyml `performance_estimation/confidence_based/
 * _cbpe_multiclass_classification.py` at commit 3c392000). The inputs are what aggregations give
 * without labels: per predicted class the count and, per class k, Σ p_k (a `sum`), and Σ p_j² of
 * the predicted class's own probability (`extended_stats`), which gives the accuracy's sampling
 * error: prediction i is right with probability q_i = p_{j(i)}, a Bernoulli draw, so realised
 * accuracy has standard error sqrt(Σ q(1 − q)) / n around the estimate Σ q / n (exact, no bins).
 *
 * Reliability, once labels arrive (on the labelled predictions, against their own expectation):
 * `accuracy_outside_band` when realised accuracy is more than `sigmas` standard errors from
 * expected; `calibration_shift` when the classes' actual counts are further from Σ p_k than
 * chance allows, tested as one Pearson χ² over the classes at the false-alarm rate of a two-sided
 * `sigmas` test (0.27 % for 3). Aggregations do not keep each prediction's
 * probability vector, so the binary diagnosis (a constant logit shift, cbpe-bands.ts) is not
 * available: a contradicted multi-class estimate reports `calibration_drift` (the reference's
 * P(y | probabilities) no longer holds, cause not separated).
 */
import { chiSquareSf } from '../drift/gamma.js';
import { zOfLevel, type FailedAssumption } from './cbpe-bands.js';

/** P(|Z| > z) for a standard normal Z (Abramowitz & Stegun 7.1.26 on erfc, error < 1.5e-7). */
function twoSidedRate(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return poly * Math.exp(-x * x);
}
import type { UnreliableReason } from './cbpe-window.js';
import { multiclassMetrics, type ConfusionMatrix } from './multiclass.js';

/** The predictions of one predicted class in a window. */
export interface PredictedClassMass {
  label: string;
  count: number;
  /** class → Σ p_class over these predictions */
  probabilitySums: Record<string, number>;
  /** Σ p_label² (the predicted class's own probability) */
  ownSquareSum: number;
}

/** The labelled predictions of a window, reduced to what the check needs. */
export interface MulticlassLabelled {
  /** per predicted class: count, right (actual = predicted), Σ p_own, Σ p_own² */
  predicted: Array<{ label: string; count: number; right: number; ownSum: number; ownSquareSum: number }>;
  /** per class: actual count, Σ p_class, Σ p_class² over all labelled predictions */
  classes: Array<{ label: string; actual: number; probabilitySum: number; squareSum: number }>;
}

export interface MulticlassCheck {
  labelled: number;
  expectedAccuracy: number;
  realisedAccuracy: number;
  accuracyZ: number;
  /** the class whose actual count is furthest from its expectation, and by how many σ */
  worstClass: string | null;
  classZ: number;
  /** p-value of the class mix against Σ p_k (Pearson's χ²) */
  classP: number;
  reliable: boolean;
  reasons: UnreliableReason[];
}

export interface MulticlassEstimate {
  count: number;
  accuracy: number | null;
  f1Macro: number | null;
  f1Weighted: number | null;
  /** expected counts: actual → predicted → Σ p */
  confusionMatrix: ConfusionMatrix;
  accuracyStdError: number | null;
  accuracyLower: number | null;
  accuracyUpper: number | null;
  sigmas: number;
  level: number;
  accuracyInterval: { lower: number; upper: number } | null;
  check: MulticlassCheck | null;
  failedAssumptions: FailedAssumption[];
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const zOf = (d: number, sd: number): number => (sd > 0 ? d / sd : d === 0 ? 0 : Math.sign(d) * Infinity);

function checkProbabilitySum(label: string, count: number, sum: number): void {
  if (!(sum >= -1e-9 * Math.max(1, count) && sum <= count * (1 + 1e-9) + 1e-9)) {
    throw new RangeError(`class probabilities of predicted class ${label} must lie in [0, 1]`);
  }
}

export function estimateMulticlassWindow(options: {
  predicted: readonly PredictedClassMass[];
  labelled?: MulticlassLabelled;
  sigmas?: number;
  level?: number;
  minLabelled?: number;
}): MulticlassEstimate {
  const sigmas = options.sigmas ?? 3;
  const level = options.level ?? 0.95;
  const classes = new Set<string>();
  for (const p of options.predicted) {
    classes.add(p.label);
    for (const k of Object.keys(p.probabilitySums)) classes.add(k);
  }
  // actual → predicted → expected count; each row of predictions is rescaled to its count, so that
  // probabilities of classes missing from the documents (or rounding) do not lose predictions
  const rows = new Map<string, Record<string, number>>();
  let n = 0;
  let right = 0;
  let variance = 0;
  for (const p of options.predicted) {
    if (p.count === 0) continue;
    const total = Object.values(p.probabilitySums).reduce((a, b) => a + b, 0);
    for (const s of Object.values(p.probabilitySums)) checkProbabilitySum(p.label, p.count, s);
    // predictions without any class probability (label only) say nothing about P(right): left out,
    // not counted as never right (issue 27); none at all gives count 0 and no estimate
    if (!(total > 0)) continue;
    const scale = total > 0 ? p.count / total : 0;
    for (const [k, s] of Object.entries(p.probabilitySums)) {
      const row = rows.get(k) ?? {};
      row[p.label] = (row[p.label] ?? 0) + s * scale;
      rows.set(k, row);
    }
    const own = (p.probabilitySums[p.label] ?? 0) * scale;
    n += p.count;
    right += own;
    variance += Math.max(0, own - p.ownSquareSum * scale * scale);
  }
  const confusionMatrix: ConfusionMatrix = Object.fromEntries(rows);
  const m = multiclassMetrics(confusionMatrix);
  const accuracy = n > 0 ? right / n : null;
  const se = n > 0 ? Math.sqrt(variance) / n : null;
  const z = zOfLevel(level);
  const check = options.labelled
    ? checkMulticlass(options.labelled, sigmas, options.minLabelled ?? 30)
    : null;
  return {
    count: n,
    accuracy,
    f1Macro: n > 0 ? m.f1Macro : null,
    f1Weighted: n > 0 ? m.f1Weighted : null,
    confusionMatrix,
    accuracyStdError: se,
    accuracyLower: accuracy !== null && se !== null ? clamp01(accuracy - sigmas * se) : null,
    accuracyUpper: accuracy !== null && se !== null ? clamp01(accuracy + sigmas * se) : null,
    sigmas,
    level,
    accuracyInterval:
      accuracy !== null && se !== null
        ? { lower: clamp01(accuracy - z * se), upper: clamp01(accuracy + z * se) }
        : null,
    check,
    failedAssumptions: check && !check.reliable ? ['calibration_drift'] : [],
  };
}

function checkMulticlass(l: MulticlassLabelled, sigmas: number, minLabelled: number): MulticlassCheck | null {
  let count = 0;
  let right = 0;
  let expected = 0;
  let variance = 0;
  for (const p of l.predicted) {
    if (p.count === 0) continue;
    count += p.count;
    right += p.right;
    expected += p.ownSum;
    variance += Math.max(0, p.ownSum - p.ownSquareSum);
  }
  if (count < minLabelled) return null;
  const accuracyZ = zOf(right - expected, Math.sqrt(variance));
  let worstClass: string | null = null;
  let classZ = 0;
  let pearson = 0;
  let used = 0;
  for (const c of l.classes) {
    if (c.probabilitySum > 0) {
      pearson += (c.actual - c.probabilitySum) ** 2 / c.probabilitySum;
      used++;
    }
    const zc = zOf(c.actual - c.probabilitySum, Math.sqrt(Math.max(0, c.probabilitySum - c.squareSum)));
    if (worstClass === null || Math.abs(zc) > Math.abs(classZ)) {
      worstClass = c.label;
      classZ = zc;
    }
  }
  const reasons: UnreliableReason[] = [];
  if (Math.abs(accuracyZ) > sigmas) reasons.push('accuracy_outside_band');
  // the class mix as one test (Pearson's χ² with K − 1 degrees of freedom) at the false-alarm rate
  // of a two-sided `sigmas` test, rather than K separate ones that together alarm K times as often
  const classP = used > 1 ? chiSquareSf(pearson, used - 1) : 1;
  if (classP < twoSidedRate(sigmas)) reasons.push('calibration_shift');
  return {
    labelled: count,
    expectedAccuracy: expected / count,
    realisedAccuracy: right / count,
    accuracyZ,
    worstClass,
    classZ,
    classP,
    reliable: reasons.length === 0,
    reasons,
  };
}
