/**
 * Log loss and Brier score: proper scoring rules for the predicted probability of the positive class.
 *
 * Both are means of a per-prediction loss. Elasticsearch here has no scripting, so the join step that
 * pairs a prediction with its outcome stores the per-prediction loss on the evaluation document
 * ({@link logLossTerm}, {@link brierTerm}); the analyzer then needs only a `sum` and a count, which
 * {@link meanFromSum} turns into the metric. Windows merge by adding sums and counts, which a mean
 * could not do.
 */
import { assertSameLength, type Label, positivePredicate } from './binary.js';

/** Probabilities are clipped to [EPS, 1 − EPS] before the log, as sklearn's log_loss does. */
export const LOG_LOSS_EPS = 1e-15;

/** A sum of per-prediction losses over `count` labelled predictions. */
export interface LossSum {
  sum: number;
  count: number;
}

function checkProbability(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0, 1], got ${p}`);
}

/**
 * Per-prediction log loss −[y·ln p + (1−y)·ln(1−p)] with p clipped to [1e-15, 1 − 1e-15], so that a
 * confident wrong prediction costs ln(1e15) ≈ 34.5 instead of infinity (one such prediction must not
 * turn the window's mean into Infinity).
 */
export function logLossTerm(isPositive: boolean, probability: number): number {
  checkProbability(probability);
  const p = Math.min(Math.max(probability, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
  return isPositive ? -Math.log(p) : -Math.log1p(-p);
}

/** Per-prediction Brier term (p − y)². */
export function brierTerm(isPositive: boolean, probability: number): number {
  checkProbability(probability);
  const d = probability - (isPositive ? 1 : 0);
  return d * d;
}

/** sum / count, or null for an empty window. */
export function meanFromSum(s: LossSum): number | null {
  if (!(s.count >= 0) || !Number.isFinite(s.count))
    throw new RangeError(`count must be >= 0, got ${s.count}`);
  if (!Number.isFinite(s.sum)) throw new RangeError(`sum must be finite, got ${s.sum}`);
  return s.count === 0 ? null : s.sum / s.count;
}

/** Mean log loss from a sum of {@link logLossTerm} values; null when count = 0. */
export function logLossFromSum(s: LossSum): number | null {
  return meanFromSum(s);
}

/** Brier score from a sum of {@link brierTerm} values; null when count = 0. */
export function brierFromSum(s: LossSum): number | null {
  return meanFromSum(s);
}

function sumTerms(
  actual: readonly Label[],
  probabilities: readonly number[],
  term: (y: boolean, p: number) => number,
  positiveClass: Label | undefined,
  what: string,
): LossSum {
  assertSameLength(actual, probabilities, what);
  const isPositive = positivePredicate(positiveClass);
  let sum = 0;
  for (let i = 0; i < actual.length; i++)
    sum += term(isPositive(actual[i] as Label), probabilities[i] as number);
  return { sum, count: actual.length };
}

/** Mean log loss from raw labels and positive-class probabilities; null for empty input. */
export function logLoss(
  actual: readonly Label[],
  probabilities: readonly number[],
  options: { positiveClass?: Label } = {},
): number | null {
  return logLossFromSum(sumTerms(actual, probabilities, logLossTerm, options.positiveClass, 'logLoss'));
}

/** Brier score from raw labels and positive-class probabilities; null for empty input. */
export function brierScore(
  actual: readonly Label[],
  probabilities: readonly number[],
  options: { positiveClass?: Label } = {},
): number | null {
  return brierFromSum(sumTerms(actual, probabilities, brierTerm, options.positiveClass, 'brierScore'));
}
