/**
 * Multi-class classification metrics from a confusion matrix.
 *
 * The matrix is what the analyzer gets from a `terms` aggregation on `actual.label` with a `terms`
 * sub-aggregation on `prediction.label`, and it is stored as such in
 * `performance.confusion_matrix` (actual → predicted → count). Every metric below is a function of it.
 */
import { assertSameLength, type Label, labelKey } from './binary.js';

/** actual class → predicted class → count. Missing cells are zero. */
export type ConfusionMatrix = Record<string, Record<string, number>>;

/** One-vs-rest metrics of one class. */
export interface ClassMetrics {
  /** number of actual members of the class (row sum) */
  support: number;
  /** number of predictions of the class (column sum) */
  predicted: number;
  /** correct predictions of the class (diagonal cell) */
  tp: number;
  /** tp / predicted; null when the class was never predicted */
  precision: number | null;
  /** tp / support; null when the class never occurred */
  recall: number | null;
  /**
   * 2tp / (2tp + fp + fn) = 2tp / (predicted + support). Defined (possibly 0) for every class that
   * occurs as actual or predicted, which is every class listed.
   */
  f1: number;
}

/** Result of {@link multiclassMetrics}. */
export interface MulticlassMetrics {
  /** total count */
  count: number;
  /** Σ diagonal / count; null when count = 0 */
  accuracy: number | null;
  /** per-class metrics, for every class seen as actual or predicted (with a non-zero count) */
  perClass: Record<string, ClassMetrics>;
  /**
   * Unweighted mean of per-class F1 over the listed classes (the union of actual and predicted
   * classes, as sklearn's `f1_score(average='macro')` uses); null when count = 0.
   */
  f1Macro: number | null;
  /** Support-weighted mean of per-class F1 (classes never actual weigh 0); null when count = 0. */
  f1Weighted: number | null;
  /** the classes, sorted */
  classes: string[];
}

/** Metrics of a multi-class confusion matrix; see {@link MulticlassMetrics}. */
export function multiclassMetrics(matrix: ConfusionMatrix): MulticlassMetrics {
  const support = new Map<string, number>();
  const predicted = new Map<string, number>();
  const tp = new Map<string, number>();
  let count = 0;
  for (const [actual, row] of Object.entries(matrix)) {
    for (const [pred, n] of Object.entries(row)) {
      if (!Number.isFinite(n) || n < 0) {
        throw new RangeError(`confusion matrix cell [${actual}][${pred}] must be a non-negative count`);
      }
      if (n === 0) continue;
      count += n;
      support.set(actual, (support.get(actual) ?? 0) + n);
      predicted.set(pred, (predicted.get(pred) ?? 0) + n);
      if (actual === pred) tp.set(actual, (tp.get(actual) ?? 0) + n);
    }
  }
  const classes = [...new Set([...support.keys(), ...predicted.keys()])].sort();
  const perClass: Record<string, ClassMetrics> = {};
  let correct = 0;
  let f1Sum = 0;
  let f1WeightedSum = 0;
  for (const c of classes) {
    const s = support.get(c) ?? 0;
    const p = predicted.get(c) ?? 0;
    const t = tp.get(c) ?? 0;
    const f1 = (2 * t) / (s + p); // s + p > 0 since c is listed
    perClass[c] = {
      support: s,
      predicted: p,
      tp: t,
      precision: p === 0 ? null : t / p,
      recall: s === 0 ? null : t / s,
      f1,
    };
    correct += t;
    f1Sum += f1;
    f1WeightedSum += s * f1;
  }
  return {
    count,
    accuracy: count === 0 ? null : correct / count,
    perClass,
    f1Macro: classes.length === 0 ? null : f1Sum / classes.length,
    f1Weighted: count === 0 ? null : f1WeightedSum / count,
    classes,
  };
}

/** Counts a confusion matrix (actual → predicted → count) from raw labels. */
export function confusionMatrixFromLabels(
  actual: readonly Label[],
  predicted: readonly Label[],
): ConfusionMatrix {
  assertSameLength(actual, predicted, 'confusionMatrixFromLabels');
  // Maps, then Object.fromEntries: a class literally named "__proto__" stays an ordinary key.
  const rows = new Map<string, Map<string, number>>();
  for (let i = 0; i < actual.length; i++) {
    const a = labelKey(actual[i] as Label);
    const p = labelKey(predicted[i] as Label);
    let row = rows.get(a);
    if (!row) rows.set(a, (row = new Map()));
    row.set(p, (row.get(p) ?? 0) + 1);
  }
  return Object.fromEntries([...rows].map(([a, row]) => [a, Object.fromEntries(row)]));
}
