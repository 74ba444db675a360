/**
 * The evaluation document: one labelled prediction with the per-prediction quantities that window
 * metrics aggregate (`eval.correct`, `eval.log_loss`, `eval.brier`, `eval.error`, …). Pure; the join
 * (join.ts) reads the predictions and outcomes and writes these documents.
 */
import { brierTerm, labelKey, logLossTerm, type Label } from '../stats/performance/index.js';

/** Ground truth as logged: a class label or a numeric value. */
export interface ActualValue {
  label?: Label;
  value?: number;
}

/** The fields of a prediction document the join reads. */
export interface PredictionSource {
  '@timestamp': string;
  model?: { name?: string; version?: string };
  prediction?: {
    id?: string;
    label?: Label;
    score?: number;
    value?: number;
    probabilities?: Record<string, number>;
  };
  actual?: ActualValue;
  labels?: Record<string, string>;
  event?: { outcome?: string };
  error?: Record<string, unknown>;
}

/** The fields of an outcome document the join reads. */
export interface OutcomeSource {
  '@timestamp': string;
  prediction?: { id?: string };
  model?: { name?: string; version?: string };
  actual?: ActualValue;
}

/** What the join writes per labelled prediction; field names are the evaluation stream's mapping. */
export interface EvaluationDocument {
  '@timestamp': string;
  model: { name?: string; version?: string };
  prediction: {
    id: string;
    label?: string;
    score?: number;
    value?: number;
    probabilities?: Record<string, number>;
  };
  actual: { label?: string; value?: number };
  labels?: Record<string, string>;
  eval: {
    /** 'outcome' (delayed label) or 'prediction' (actual logged with the prediction) */
    source: 'outcome' | 'prediction';
    /** when the label became known: the outcome's `@timestamp`, or the prediction's */
    label_time: string;
    /**
     * when the join last created or changed this document, epoch ms, set at write time
     * ({@link JOINED_AT_FIELD}). A number, not an ISO string: clusters whose evaluation template
     * predates the field map it dynamically, and a number maps as `long` (sortable, aggregatable)
     * where a string would map as `keyword`.
     */
    joined_at?: number;
    /** the class whose probability `prediction.score` is (binary log loss and Brier refer to it) */
    positive_class?: string;
    correct?: 0 | 1;
    log_loss?: number;
    brier?: number;
    error?: number;
    abs_error?: number;
    sq_error?: number;
    ape?: number;
    /** the constant c the join subtracts from every regression actual of the model (its first one) */
    actual_shift?: number;
    /** actual − c: R²'s Σ(y − c)² does not cancel when |ȳ| ≫ the spread (issue 28.6) */
    actual_shifted?: number;
  };
}

/** Options of {@link evaluationDocument}. */
export interface EvaluationOptions {
  /** the class `prediction.score` is the probability of; default '1' */
  positiveClass?: Label;
  /** threshold turning a score into a predicted class when the prediction has no label; default 0.5 */
  threshold?: number;
  /** c of `eval.actual_shift`; the join passes its model's (see JoinCheckpoint.actualShift) */
  actualShift?: number;
}

/** A finite number (a field as stored may hold anything). */
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isProbability = (v: unknown): v is number => isNumber(v) && v >= 0 && v <= 1;

/**
 * Pairs a prediction with its ground truth; null when there is nothing to evaluate (a failed
 * prediction, or a truth of another kind than the prediction: a label for a regressor).
 */
export function evaluationDocument(
  prediction: PredictionSource,
  actual: ActualValue,
  labelTime: string,
  source: 'outcome' | 'prediction',
  options: EvaluationOptions = {},
): EvaluationDocument | null {
  const p = prediction.prediction;
  const id = p?.id;
  if (!p || !id) return null;
  if (prediction.event?.outcome === 'failure' || prediction.error) return null;
  const positiveKey = labelKey(options.positiveClass ?? '1');
  const threshold = options.threshold ?? 0.5;
  const evaluation: EvaluationDocument['eval'] = { source, label_time: labelTime };
  const actualOut: EvaluationDocument['actual'] = {};
  const predictionOut: EvaluationDocument['prediction'] = { id };
  if (p.label !== undefined && p.label !== null) predictionOut.label = labelKey(p.label);
  if (isNumber(p.score)) predictionOut.score = p.score;
  if (isNumber(p.value)) predictionOut.value = p.value;
  if (p.probabilities && typeof p.probabilities === 'object') predictionOut.probabilities = p.probabilities;

  let evaluable = false;
  if (actual.label !== undefined && actual.label !== null) {
    actualOut.label = labelKey(actual.label);
    evaluable = classificationTerms(evaluation, actualOut.label, predictionOut, positiveKey, threshold);
  }
  if (isNumber(actual.value)) {
    actualOut.value = actual.value;
    if (predictionOut.value !== undefined) {
      const error = predictionOut.value - actual.value;
      evaluation.error = error;
      evaluation.abs_error = Math.abs(error);
      evaluation.sq_error = error * error;
      if (actual.value !== 0) evaluation.ape = Math.abs(error / actual.value);
      if (options.actualShift !== undefined) {
        evaluation.actual_shift = options.actualShift;
        evaluation.actual_shifted = actual.value - options.actualShift;
      }
      evaluable = true;
    }
  }
  if (!evaluable) return null;
  const doc: EvaluationDocument = {
    '@timestamp': prediction['@timestamp'],
    model: { ...(prediction.model ?? {}) },
    prediction: predictionOut,
    actual: actualOut,
    eval: evaluation,
  };
  if (prediction.labels && Object.keys(prediction.labels).length > 0) doc.labels = prediction.labels;
  return doc;
}

/**
 * The classification terms of one labelled prediction, set on `evaluation` (`correct`,
 * `log_loss`, `brier`, `positive_class`); false when the prediction has nothing to compare with
 * the label.
 */
function classificationTerms(
  evaluation: EvaluationDocument['eval'],
  actualKey: string,
  predictionOut: EvaluationDocument['prediction'],
  positiveKey: string,
  threshold: number,
): boolean {
  let evaluable = false;
  const predicted =
    predictionOut.label ??
    (predictionOut.score !== undefined && predictionOut.score >= threshold ? positiveKey : undefined);
  if (predicted !== undefined) {
    evaluation.correct = predicted === actualKey ? 1 : 0;
    evaluable = true;
  } else if (predictionOut.score !== undefined) {
    // binary score below the threshold and no label: predicted "not positive"
    evaluation.correct = actualKey === positiveKey ? 0 : 1;
    evaluable = true;
  }
  if (isProbability(predictionOut.score)) {
    const positive = actualKey === positiveKey;
    evaluation.positive_class = positiveKey;
    evaluation.log_loss = logLossTerm(positive, predictionOut.score);
    evaluation.brier = brierTerm(positive, predictionOut.score);
    evaluable = true;
  } else if (predictionOut.probabilities) {
    const probabilities = Object.entries(predictionOut.probabilities);
    if (probabilities.length > 0 && probabilities.every(([, v]) => isProbability(v))) {
      // multi-class: log loss of the actual class's probability; Brier summed over classes, a
      // class missing from the probabilities having probability 0
      const ofActual = probabilities.find(([k]) => k === actualKey)?.[1] ?? 0;
      evaluation.log_loss = logLossTerm(true, ofActual);
      let brier = probabilities.some(([k]) => k === actualKey) ? 0 : brierTerm(true, 0);
      for (const [k, v] of probabilities) brier += brierTerm(k === actualKey, v);
      evaluation.brier = brier;
      evaluable = true;
    }
  }
  return evaluable;
}
