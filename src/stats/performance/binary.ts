/**
 * Binary classification metrics from confusion counts.
 *
 * The analyzer counts tp/fp/fn/tn inside Elasticsearch (four `filter` aggregations, or one `filters`
 * aggregation, over the joined evaluation stream), so the primary inputs here are those four counts,
 * not arrays of predictions. The raw-array helpers below exist for tests and the offline mode and go
 * through exactly the same code path once they have counted.
 */

/** A class label as it may appear in a prediction or outcome event. */
export type Label = string | number | boolean;

/** Counts of a binary confusion matrix. Field names match `performance.confusion.*` in DESIGN.md. */
export interface BinaryConfusion {
  /** predicted positive, actually positive */
  tp: number;
  /** predicted positive, actually negative */
  fp: number;
  /** predicted negative, actually positive */
  fn: number;
  /** predicted negative, actually negative */
  tn: number;
}

/**
 * Metrics derived from a {@link BinaryConfusion}.
 *
 * Every ratio whose denominator is zero is `null`, never `NaN`, `0` or `1`: a window without a
 * single predicted positive has no precision, and pretending it is 0 (sklearn's default) would fire a
 * "precision dropped" alert on what is only an empty or one-sided window. `null` serialises to JSON
 * and is simply absent from the Elasticsearch document, which Kibana and alert rules handle.
 */
export interface BinaryMetrics {
  /** tp + fp + fn + tn */
  count: number;
  /** (tp + tn) / count; null when count = 0 */
  accuracy: number | null;
  /** tp / (tp + fp); null when nothing was predicted positive */
  precision: number | null;
  /** tp / (tp + fn) (true positive rate); null when there is no actual positive */
  recall: number | null;
  /**
   * 2tp / (2tp + fp + fn), the harmonic mean of precision and recall written so that it stays defined
   * when only one of the two is: e.g. no predicted positive but some actual positives gives F1 = 0.
   * null only when tp = fp = fn = 0 (no positive anywhere, actual or predicted).
   */
  f1: number | null;
  /** tn / (tn + fp) (true negative rate); null when there is no actual negative */
  specificity: number | null;
  /** (tp + fp) / count: share predicted positive (used by fairness); null when count = 0 */
  positiveRate: number | null;
  /** (tp + fn) / count: share actually positive (prevalence); null when count = 0 */
  prevalence: number | null;
}

/** Options shared by the raw-array helpers of binary classification. */
export interface BinaryOptions {
  /**
   * The label that counts as positive; default `'1'`. Labels are compared by their string form
   * ({@link labelKey}), so `1`, `'1'` and `true` are the same class, as they are once indexed as an
   * Elasticsearch keyword.
   */
  positiveClass?: Label;
  /**
   * Decision threshold on the score: a prediction is positive when `score >= threshold` (the same
   * inclusive bound an Elasticsearch `range: { gte }` filter uses); default 0.5.
   */
  threshold?: number;
}

/** The string form under which a label is compared: booleans become '1'/'0', numbers their decimal form. */
export function labelKey(label: Label): string {
  if (typeof label === 'boolean') return label ? '1' : '0';
  return String(label);
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function checkCount(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite non-negative count, got ${value}`);
  }
}

/** Throws a RangeError unless all four counts are finite and non-negative. */
export function validateConfusion(c: BinaryConfusion): void {
  checkCount('tp', c.tp);
  checkCount('fp', c.fp);
  checkCount('fn', c.fn);
  checkCount('tn', c.tn);
}

/** Accuracy, precision, recall, F1 (and friends) from confusion counts; see {@link BinaryMetrics}. */
export function binaryMetrics(c: BinaryConfusion): BinaryMetrics {
  validateConfusion(c);
  const { tp, fp, fn, tn } = c;
  const count = tp + fp + fn + tn;
  return {
    count,
    accuracy: ratio(tp + tn, count),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    specificity: ratio(tn, tn + fp),
    positiveRate: ratio(tp + fp, count),
    prevalence: ratio(tp + fn, count),
  };
}

/** Throws unless the two arrays have the same length. */
export function assertSameLength(a: readonly unknown[], b: readonly unknown[], what: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${what}: arrays differ in length (${a.length} vs ${b.length})`);
  }
}

/** Returns a predicate telling whether a label is the positive class. */
export function positivePredicate(positiveClass: Label = '1'): (label: Label) => boolean {
  const key = labelKey(positiveClass);
  return (label) => labelKey(label) === key;
}

/** Counts the confusion matrix from actual and predicted labels. */
export function confusionFromLabels(
  actual: readonly Label[],
  predicted: readonly Label[],
  options: Pick<BinaryOptions, 'positiveClass'> = {},
): BinaryConfusion {
  assertSameLength(actual, predicted, 'confusionFromLabels');
  const isPositive = positivePredicate(options.positiveClass);
  const c: BinaryConfusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < actual.length; i++) {
    const a = isPositive(actual[i] as Label);
    const p = isPositive(predicted[i] as Label);
    if (p) {
      if (a) c.tp++;
      else c.fp++;
    } else if (a) c.fn++;
    else c.tn++;
  }
  return c;
}

/** Validates a probability-like threshold. */
export function checkThreshold(threshold: number): void {
  if (!Number.isFinite(threshold)) throw new RangeError(`threshold must be finite, got ${threshold}`);
}

/**
 * Counts the confusion matrix from actual labels and scores (probability of the positive class),
 * predicting positive when `score >= threshold`.
 */
export function confusionFromScores(
  actual: readonly Label[],
  scores: readonly number[],
  options: BinaryOptions = {},
): BinaryConfusion {
  assertSameLength(actual, scores, 'confusionFromScores');
  const threshold = options.threshold ?? 0.5;
  checkThreshold(threshold);
  const predicted = scores.map((s) => {
    if (Number.isNaN(s)) throw new RangeError('confusionFromScores: score is NaN');
    return s >= threshold;
  });
  const isPositive = positivePredicate(options.positiveClass);
  return confusionFromLabels(
    actual.map((a) => isPositive(a)),
    predicted,
    { positiveClass: true },
  );
}
