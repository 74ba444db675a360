/**
 * The performance job: model quality per model, version, window (and segment), computed with
 * aggregations on the evaluation stream (see join.ts) and written to
 * `metrics-mlmon.performance-{ns}` with deterministic ids, so that re-running a window after late
 * labels arrived replaces its document and raises its `performance.label_coverage`.
 *
 * How each metric is computed inside Elasticsearch (no scripts):
 * - binary confusion counts: one `filters` aggregation with four bool filters (predicted positive =
 *   `prediction.score ≥ threshold`, or `prediction.label` = positive class when there is no score);
 * - ROC-AUC: a `histogram` of `prediction.score` (interval 0.001) with a `filter` sub-aggregation
 *   counting actual positives, then {@link rocAucFromBins}; pairs inside one bin count half, so the
 *   exact AUC lies within `performance.roc_auc_error_bound` of the stored value;
 * - log loss, Brier: `sum` of the per-prediction terms the join stored, over their `value_count`;
 * - multi-class: `terms` on `actual.label` with a `terms` sub-aggregation on `prediction.label`
 *   (the confusion matrix), then {@link multiclassMetrics};
 * - regression: `sum` of `eval.error|abs_error|sq_error`, `stats` of `eval.ape`, `extended_stats` of
 *   `actual.value` (Σy, Σy²), then {@link regressionMetrics};
 * - coverage and the estimate (CBPE) come from the prediction stream: its document count, and a
 *   score histogram with an `avg` sub-aggregation per bin fed to {@link estimateWindow}, with the
 *   evaluation stream's score histogram as the labelled predictions its reliability is judged on.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { upsertIntoDataStream, type UpsertResult } from '../elastic/upsert.js';
import { sub, termsBuckets, totalHits, type Bucket } from '../elastic/aggs.js';
import {
  binaryMetrics,
  brierFromSum,
  estimateMulticlassWindow,
  estimateWindow,
  evaluateBounds,
  fairnessBySegment,
  labelKey,
  logLossFromSum,
  multiclassMetrics,
  regressionMetrics,
  rocAucFromBins,
  type BinaryConfusion,
  type BoundViolation,
  type CbpeWindowEstimate,
  type ConfusionMatrix,
  type Gap,
  type Label,
  type LabelledScoreBin,
  type MulticlassEstimate,
  type PerformanceBounds,
  type ScoreBin,
  type ScoreCalibration,
} from '../stats/performance/index.js';
import { windowFilter } from '../elastic/filters.js';
import { searchOrEmpty } from '../elastic/search.js';
import { resultId, withoutNulls } from '../schema/result-document.js';
import { DEFAULT_NAMESPACE, streamNames } from '../schema/streams.js';
import { checkWindow, type TimeWindow } from '../schema/window.js';

export type PerformanceTask = 'binary' | 'multiclass' | 'regression';

/** Width of the score bins behind ROC-AUC and the CBPE estimate. */
export const SCORE_BIN_WIDTH = 0.001;
/** Number of score bins over [0, 1]. */
export const SCORE_BINS = 1000;

export interface PerformanceJobOptions {
  namespace?: string;
  model: string;
  /** one version; default every version with predictions or evaluations in the window */
  version?: string;
  task: PerformanceTask;
  window: TimeWindow;
  /** binary: the positive class (default '1') */
  positiveClass?: Label;
  /** binary: predicted positive when score ≥ threshold (default 0.5; a multiple of 0.001) */
  threshold?: number;
  /** segment names: one document per value of each `labels.<name>`, and a fairness document (binary) */
  segments?: string[];
  /**
   * binary: the reference period's score calibration (stored with the baseline, see
   * profiles/calibration.ts); the estimate maps scores through it. Without it, raw scores are
   * taken as probabilities and `performance.estimated.calibrated` is false. A function is asked per
   * version (each version has its own baseline; see analyzer/baseline.ts `calibrationLookup`).
   */
  calibration?: ScoreCalibration | ((version: string) => Promise<ScoreCalibration | undefined>);
  /** expected performance per metric (`accuracy`, `roc_auc`, `rmse`, …) for `performance.degraded` */
  bounds?: Record<string, PerformanceBounds>;
  /** at most this many values per segment (the most frequent); default 100 */
  maxSegmentValues?: number;
  /** multi-class: at most this many classes per axis of the confusion matrix; default 200 */
  maxClasses?: number;
  /** store the documents (default true); false only computes them */
  write?: boolean;
  /** refresh the performance stream after writing */
  refresh?: boolean;
}

/** A performance, segment or fairness document with its deterministic id. */
export interface PerformanceResult {
  id: string;
  document: Record<string, unknown>;
}

export interface PerformanceJobResult {
  documents: PerformanceResult[];
  written?: UpsertResult;
}

type Aggs = Record<string, estypes.AggregationsAggregationContainer>;
type Query = estypes.QueryDslQueryContainer;

interface Settings {
  task: PerformanceTask;
  positiveKey: string;
  threshold: number;
  maxClasses: number;
  calibration: ScoreCalibration | undefined;
  /** multi-class: the classes with a `prediction.probabilities.<class>` field (the estimate's input) */
  classes: string[];
}

function actualPositive(s: Settings): Query {
  return { term: { 'actual.label': s.positiveKey } };
}

function predictedPositive(s: Settings): Query {
  return {
    bool: {
      should: [
        { range: { 'prediction.score': { gte: s.threshold } } },
        {
          bool: {
            filter: [{ term: { 'prediction.label': s.positiveKey } }],
            must_not: [{ exists: { field: 'prediction.score' } }],
          },
        },
      ],
      minimum_should_match: 1,
    },
  };
}

const scoreHistogram = (aggs: Aggs): estypes.AggregationsAggregationContainer => ({
  histogram: { field: 'prediction.score', interval: SCORE_BIN_WIDTH, min_doc_count: 1 },
  aggs,
});

/** Metric aggregations on evaluation documents, per task. */
function evaluationAggs(s: Settings): Aggs {
  const lossSums = (filter: Query): estypes.AggregationsAggregationContainer => ({
    filter,
    aggs: {
      log_loss: { sum: { field: 'eval.log_loss' } },
      log_loss_n: { value_count: { field: 'eval.log_loss' } },
      brier: { sum: { field: 'eval.brier' } },
      brier_n: { value_count: { field: 'eval.brier' } },
    },
  });
  if (s.task === 'binary') {
    const pos = actualPositive(s);
    const predPos = predictedPositive(s);
    return {
      confusion: {
        filters: {
          filters: {
            tp: { bool: { filter: [predPos, pos] } },
            fp: { bool: { filter: [predPos], must_not: [pos] } },
            fn: { bool: { filter: [pos], must_not: [predPos] } },
            tn: { bool: { must_not: [predPos, pos] } },
          },
        },
      },
      scores: scoreHistogram({ positive: { filter: pos }, mean: { avg: { field: 'prediction.score' } } }),
      // the stored losses refer to the positive class the join used; only matching ones count
      losses: lossSums({ term: { 'eval.positive_class': s.positiveKey } }),
    };
  }
  if (s.task === 'multiclass') {
    return {
      matrix: {
        terms: { field: 'actual.label', size: s.maxClasses },
        aggs: { predicted: { terms: { field: 'prediction.label', size: s.maxClasses } } },
      },
      losses: lossSums({ bool: { must_not: [{ exists: { field: 'eval.positive_class' } }] } }),
      ...(s.classes.length > 0 ? { by_predicted: probabilitiesByPredicted(s), ...probabilityStats(s) } : {}),
    };
  }
  return {
    error: { sum: { field: 'eval.error' } },
    abs_error: { sum: { field: 'eval.abs_error' } },
    sq_error: { sum: { field: 'eval.sq_error' } },
    ape: { stats: { field: 'eval.ape' } },
    actual: { extended_stats: { field: 'actual.value' } },
  };
}

/** Documents of the evaluation stream that can be evaluated for the task. */
function evaluableFilter(task: PerformanceTask): Query {
  return task === 'regression'
    ? { exists: { field: 'eval.sq_error' } }
    : { exists: { field: 'actual.label' } };
}

function predictionAggs(s: Settings): Aggs {
  if (s.task === 'binary')
    return { score_bins: scoreHistogram({ mean: { avg: { field: 'prediction.score' } } }) };
  if (s.task === 'multiclass' && s.classes.length > 0) return { by_predicted: probabilitiesByPredicted(s) };
  return {};
}

/** Per class k: `extended_stats` of `prediction.probabilities.<k>` (Σ p_k, Σ p_k²). */
function probabilityStats(s: Settings): Aggs {
  return Object.fromEntries(
    s.classes.map((c, i) => [`p_${i}`, { extended_stats: { field: `prediction.probabilities.${c}` } }]),
  );
}

/** Multi-class CBPE input: per predicted class, the probability sums of every class. */
function probabilitiesByPredicted(s: Settings): estypes.AggregationsAggregationContainer {
  return {
    terms: { field: 'prediction.label', size: s.maxClasses },
    aggs: { ...probabilityStats(s), right: { sum: { field: 'eval.correct' } } },
  };
}

const segmentAggName = (i: number): string => `segment_${i}`;

function withSegments(aggs: Aggs, segments: readonly string[], size: number): Aggs {
  const out: Aggs = { ...aggs };
  segments.forEach((name, i) => {
    out[segmentAggName(i)] = { terms: { field: `labels.${name}`, size }, aggs };
  });
  return out;
}

/** A sub-aggregation of a bucket; its empty shape when the bucket has none (an empty segment). */
function subOrEmpty(bucket: Bucket, name: string): Bucket {
  return name in bucket ? sub<Bucket>(bucket, name) : { doc_count: 0 };
}

/** The buckets of a multi-bucket sub-aggregation (terms, histogram); none when it is absent. */
function buckets(bucket: Bucket, name: string): Bucket[] {
  return name in bucket ? termsBuckets(bucket, name).buckets : [];
}

/** A single-value metric (sum, value_count, avg); 0 when absent or null (an empty bucket). */
function value(bucket: Bucket, name: string): number {
  return name in bucket ? (sub<{ value: number | null }>(bucket, name).value ?? 0) : 0;
}

/** Bin index of a histogram key: keys are floor(score / 0.001) · 0.001; 1.0 folds into the top bin. */
export function scoreBinIndex(key: number): number {
  return Math.min(SCORE_BINS - 1, Math.max(0, Math.round(key / SCORE_BIN_WIDTH)));
}

function binaryFields(bucket: Bucket, s: Settings): Record<string, unknown> {
  const filters = (bucket.confusion as { buckets: Record<string, { doc_count: number }> }).buckets;
  const confusion: BinaryConfusion = {
    tp: filters.tp?.doc_count ?? 0,
    fp: filters.fp?.doc_count ?? 0,
    fn: filters.fn?.doc_count ?? 0,
    tn: filters.tn?.doc_count ?? 0,
  };
  const m = binaryMetrics(confusion);
  const positives = new Array<number>(SCORE_BINS).fill(0);
  const negatives = new Array<number>(SCORE_BINS).fill(0);
  for (const b of buckets(bucket, 'scores')) {
    const i = scoreBinIndex(b.key as number);
    const pos = subOrEmpty(b, 'positive').doc_count;
    positives[i]! += pos;
    negatives[i]! += b.doc_count - pos;
  }
  const auc = rocAucFromBins({ positives, negatives });
  const losses = subOrEmpty(bucket, 'losses');
  return {
    positive_class: s.positiveKey,
    threshold: s.threshold,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    specificity: m.specificity,
    positive_rate: m.positiveRate,
    prevalence: m.prevalence,
    confusion,
    roc_auc: auc.auc,
    roc_auc_error_bound: auc.errorBound,
    log_loss: logLossFromSum({ sum: value(losses, 'log_loss'), count: value(losses, 'log_loss_n') }),
    brier: brierFromSum({ sum: value(losses, 'brier'), count: value(losses, 'brier_n') }),
  };
}

function multiclassFields(bucket: Bucket): Record<string, unknown> {
  // Maps first, then Object.fromEntries: a class named "__proto__" stays an ordinary key.
  const rows = new Map<string, Record<string, number>>();
  const matrixAgg = bucket.matrix as { sum_other_doc_count?: number } | undefined;
  let truncated = (matrixAgg?.sum_other_doc_count ?? 0) > 0;
  for (const a of buckets(bucket, 'matrix')) {
    const predicted = subOrEmpty(a, 'predicted') as unknown as {
      buckets?: Bucket[];
      sum_other_doc_count?: number;
    };
    if ((predicted.sum_other_doc_count ?? 0) > 0) truncated = true;
    rows.set(
      String(a.key),
      Object.fromEntries((predicted.buckets ?? []).map((p) => [String(p.key), p.doc_count])),
    );
  }
  const matrix: ConfusionMatrix = Object.fromEntries(rows);
  const m = multiclassMetrics(matrix);
  const losses = subOrEmpty(bucket, 'losses');
  return {
    accuracy: m.accuracy,
    f1_macro: m.f1Macro,
    f1_weighted: m.f1Weighted,
    confusion_matrix: matrix,
    per_class: m.classes.map((c) => {
      const k = m.perClass[c];
      return {
        class: c,
        support: k?.support,
        predicted: k?.predicted,
        precision: k?.precision,
        recall: k?.recall,
        f1: k?.f1,
      };
    }),
    classes_truncated: truncated || null,
    log_loss: logLossFromSum({ sum: value(losses, 'log_loss'), count: value(losses, 'log_loss_n') }),
    brier: brierFromSum({ sum: value(losses, 'brier'), count: value(losses, 'brier_n') }),
  };
}

function regressionFields(bucket: Bucket): Record<string, unknown> {
  const ape = bucket.ape as { count?: number; sum?: number | null } | undefined;
  const actual = bucket.actual as { count?: number; sum?: number | null; sum_of_squares?: number | null };
  const m = regressionMetrics({
    n: bucket.doc_count,
    sumError: value(bucket, 'error'),
    sumAbsError: value(bucket, 'abs_error'),
    sumSquaredError: value(bucket, 'sq_error'),
    sumAbsPercentageError: ape?.sum ?? 0,
    nonZeroActualCount: ape?.count ?? 0,
    sumActual: actual?.sum ?? 0,
    sumSquaredActual: actual?.sum_of_squares ?? 0,
  });
  return {
    rmse: m.rmse,
    mae: m.mae,
    mape: m.mape,
    mape_excluded: m.mapeExcluded,
    r2: m.r2,
    mean_error: m.meanError,
  };
}

/** Raw-score bins of a `score_bins` / `scores` histogram, ascending over [0, 1]. */
function scoreBins(bucket: Bucket, name: string): Array<LabelledScoreBin & ScoreBin> {
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
function estimatedFields(
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

interface ExtendedStats {
  count?: number;
  sum?: number | null;
  sum_of_squares?: number | null;
}

const statsOf = (b: Bucket, name: string): ExtendedStats => (name in b ? (b[name] as ExtendedStats) : {});

/** Per predicted class: count, Σ p_k per class, Σ p_own² (and, on labelled documents, Σ eval.correct). */
function predictedMasses(bucket: Bucket, s: Settings) {
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
 * Multi-class CBPE (`estimateMulticlassWindow`) from the prediction stream's probability sums per
 * predicted class, judged on the evaluation stream's; null when not computable (probabilities
 * outside [0, 1]).
 */
function multiclassEstimatedFields(
  predBucket: Bucket,
  evalBucket: Bucket | undefined,
  s: Settings,
): Record<string, unknown> | null {
  const predicted = predictedMasses(predBucket, s);
  if (predicted.length === 0) return null;
  const actualCounts = new Map(
    evalBucket ? buckets(evalBucket, 'matrix').map((b) => [String(b.key), b.doc_count]) : [],
  );
  let e: MulticlassEstimate;
  try {
    e = estimateMulticlassWindow({
      predicted,
      labelled: evalBucket
        ? {
            predicted: predictedMasses(evalBucket, s),
            classes: s.classes.map((c, i) => ({
              label: c,
              actual: actualCounts.get(c) ?? 0,
              probabilitySum: statsOf(evalBucket, `p_${i}`).sum ?? 0,
              squareSum: statsOf(evalBucket, `p_${i}`).sum_of_squares ?? 0,
            })),
          }
        : undefined,
    });
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
  return {
    count: e.count,
    accuracy: e.accuracy,
    f1_macro: e.f1Macro,
    f1_weighted: e.f1Weighted,
    calibrated: false,
    accuracy_std_error: e.accuracyStdError,
    accuracy_lower: e.accuracyLower,
    accuracy_upper: e.accuracyUpper,
    band_sigmas: e.sigmas,
    sampling_error: { accuracy: e.accuracyStdError },
    interval_level: e.level,
    interval: e.accuracyInterval ? { accuracy: e.accuracyInterval } : null,
    reliable: e.check?.reliable ?? null,
    unreliable_reason: e.check && e.check.reasons.length > 0 ? e.check.reasons : null,
    failed_assumptions: e.failedAssumptions.length > 0 ? e.failedAssumptions : null,
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

function taskFields(bucket: Bucket, s: Settings): Record<string, unknown> {
  if (s.task === 'binary') return binaryFields(bucket, s);
  if (s.task === 'multiclass') return multiclassFields(bucket);
  return regressionFields(bucket);
}

const BOUNDABLE = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'f1_macro',
  'f1_weighted',
  'roc_auc',
  'log_loss',
  'brier',
  'rmse',
  'mae',
  'mape',
  'r2',
  'label_coverage',
] as const;

function numericMetrics(fields: Record<string, unknown>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of BOUNDABLE) {
    const v = fields[k];
    out[k] = typeof v === 'number' ? v : null;
  }
  return out;
}

/** A breached bound as stored: the metric, its value and the bound it crossed (null bounds left out). */
function violationFields(v: BoundViolation): Record<string, unknown> {
  return {
    metric: v.metric,
    value: v.value,
    ...(v.lower !== null ? { lower: v.lower } : {}),
    ...(v.upper !== null ? { upper: v.upper } : {}),
  };
}

/**
 * Adds `degraded` (and the violated metrics) to realised metrics, and `estimated.degraded` to the
 * estimate. Absent when no bounded metric could be evaluated: "unknown" is neither healthy nor an
 * alert (an unlabelled window must not page anyone).
 */
function applyBounds(fields: Record<string, unknown>, bounds: Record<string, PerformanceBounds>): void {
  if (Object.keys(bounds).length === 0) return;
  // The bounds themselves, so that an alert or a dashboard shows the threshold next to the value
  // (`performance.bounds.accuracy.lower`); `violations` lists metric, value and bound per breach.
  fields.bounds = Object.fromEntries(
    Object.entries(bounds).map(([metric, b]) => [
      metric,
      { ...(b.lower != null ? { lower: b.lower } : {}), ...(b.upper != null ? { upper: b.upper } : {}) },
    ]),
  );
  const realised = evaluateBounds(numericMetrics(fields), bounds);
  const evaluated = Object.keys(bounds).length - realised.unknown.length;
  if (evaluated > 0) {
    fields.degraded = realised.degraded;
    fields.degraded_metrics = realised.violations.map((v) => v.metric);
    fields.violations = realised.violations.map(violationFields);
  }
  const estimated = fields.estimated as Record<string, unknown> | undefined;
  if (estimated) {
    const estimatedBounds = Object.fromEntries(
      Object.entries(bounds).filter(([k]) => typeof estimated[k] === 'number'),
    );
    if (Object.keys(estimatedBounds).length > 0) {
      const e = evaluateBounds(numericMetrics(estimated), estimatedBounds);
      estimated.degraded = e.degraded;
      estimated.degraded_metrics = e.violations.map((v) => v.metric);
      estimated.violations = e.violations.map(violationFields);
    }
  }
}

function gapFields(g: Gap | null): Record<string, unknown> | null {
  if (!g) return null;
  return {
    difference: g.difference,
    ratio: g.ratio,
    max: g.max.value,
    max_segments: g.max.segments,
    min: g.min.value,
    min_segments: g.min.segments,
    excluded: g.excluded,
  };
}

async function versionsInWindow(
  client: Client,
  indices: string[],
  model: string,
  window: TimeWindow,
): Promise<string[]> {
  const response = await searchOrEmpty(client, {
    index: indices.join(','),
    size: 0,
    query: { bool: { filter: [{ term: { 'model.name': model } }, windowFilter(window)] } },
    aggs: { versions: { terms: { field: 'model.version', size: 1000 } } },
  });
  const versions = (response?.aggregations?.versions as { buckets?: Array<{ key: unknown }> } | undefined)
    ?.buckets;
  return [...new Set((versions ?? []).map((b) => String(b.key)))].sort();
}

function settingsOf(options: PerformanceJobOptions): Settings {
  const threshold = options.threshold ?? 0.5;
  if (options.task === 'binary') {
    const steps = threshold / SCORE_BIN_WIDTH;
    // The estimate splits score bins at the threshold, so it must fall on a bin edge.
    if (!(threshold >= 0 && threshold <= 1) || Math.abs(steps - Math.round(steps)) > 1e-6) {
      throw new RangeError(`threshold must be a multiple of ${SCORE_BIN_WIDTH} in [0, 1], got ${threshold}`);
    }
  }
  return {
    task: options.task,
    positiveKey: labelKey(options.positiveClass ?? '1'),
    threshold,
    maxClasses: options.maxClasses ?? 200,
    calibration: undefined,
    classes: [],
  };
}

/** The two searches of one version's window: evaluations (realised) and predictions (coverage, estimate). */
function windowRequests(
  options: PerformanceJobOptions,
  s: Settings,
  streams: ReturnType<typeof streamNames>,
  version: string,
): { evaluations: estypes.SearchRequest; predictions: estypes.SearchRequest } {
  const segments = options.segments ?? [];
  const maxSegmentValues = options.maxSegmentValues ?? 100;
  const scope: Query[] = [
    { term: { 'model.name': options.model } },
    { term: { 'model.version': version } },
    windowFilter(options.window),
  ];
  return {
    evaluations: {
      index: streams.evaluation,
      size: 0,
      track_total_hits: true,
      query: { bool: { filter: [...scope, evaluableFilter(s.task)] } },
      aggs: withSegments(evaluationAggs(s), segments, maxSegmentValues),
    },
    predictions: {
      index: streams.prediction,
      size: 0,
      track_total_hits: true,
      query: { bool: { filter: scope, must_not: [{ term: { 'event.outcome': 'failure' } }] } },
      aggs: withSegments(predictionAggs(s), segments, maxSegmentValues),
    },
  };
}

/** A search answer as the root bucket the readers take: the hit count and the aggregations. */
function rootBucket(response: estypes.SearchResponse | undefined): Bucket {
  return { doc_count: response ? totalHits(response) : 0, ...(response?.aggregations ?? {}) };
}

/** The performance fields of one scope (model or one segment value). */
function scopeFields(
  evalBucket: Bucket | undefined,
  predBucket: Bucket | undefined,
  scopeName: string,
  s: Settings,
  bounds: Record<string, PerformanceBounds>,
): { predicted: number; fields: Record<string, unknown> } {
  const labelled = evalBucket?.doc_count ?? 0;
  const predicted = predBucket?.doc_count ?? 0;
  const fields: Record<string, unknown> = {
    scope: scopeName,
    task: s.task,
    count: labelled,
    label_coverage: predicted > 0 ? labelled / predicted : null,
    ...(labelled > 0 && evalBucket ? taskFields(evalBucket, s) : {}),
  };
  if (s.task === 'binary' && predBucket)
    fields.estimated = predicted > 0 ? estimatedFields(predBucket, evalBucket, s) : null;
  if (s.task === 'multiclass' && predBucket && s.classes.length > 0)
    fields.estimated = predicted > 0 ? multiclassEstimatedFields(predBucket, evalBucket, s) : null;
  applyBounds(fields, bounds);
  return { predicted, fields };
}

function fairnessDocument(
  report: ReturnType<typeof fairnessBySegment>,
  base: Record<string, unknown>,
  segmentName: string,
  s: Settings,
): Record<string, unknown> {
  return withoutNulls({
    ...base,
    segment: { name: segmentName },
    performance: {
      scope: 'fairness',
      task: s.task,
      positive_class: s.positiveKey,
      threshold: s.threshold,
      count: Object.values(report.segments).reduce((n, m) => n + m.count, 0),
    },
    fairness: {
      demographic_parity_difference: report.demographicParity?.difference,
      equal_opportunity_difference: report.equalOpportunity?.difference,
      demographic_parity: gapFields(report.demographicParity),
      equal_opportunity: gapFields(report.equalOpportunity),
      segments: Object.entries(report.segments).map(([segmentValue, m]) => ({
        value: segmentValue,
        count: m.count,
        positive_rate: m.positiveRate,
        recall: m.recall,
        precision: m.precision,
        accuracy: m.accuracy,
      })),
    },
  });
}

/** The documents of one version's window from the two answers: model scope, segments, fairness. */
function versionDocuments(
  options: PerformanceJobOptions,
  s: Settings,
  version: string,
  evalRoot: Bucket,
  predRoot: Bucket,
): PerformanceResult[] {
  const bounds = options.bounds ?? {};
  const { model, window } = options;
  const start = window.start.toISOString();
  const end = window.end.toISOString();
  const base = { '@timestamp': end, window: { start, end }, model: { name: model, version } };
  const documents: PerformanceResult[] = [];
  const overall = scopeFields(evalRoot, predRoot, 'model', s, bounds);
  documents.push({
    id: resultId('performance', [model, version, null, null, start, end]),
    document: withoutNulls({
      ...base,
      window: { ...base.window, count: overall.predicted },
      performance: overall.fields,
    }),
  });
  for (const [i, segmentName] of (options.segments ?? []).entries()) {
    const evalBuckets = new Map(buckets(evalRoot, segmentAggName(i)).map((b) => [String(b.key), b]));
    const predBuckets = new Map(buckets(predRoot, segmentAggName(i)).map((b) => [String(b.key), b]));
    const values = [...new Set([...evalBuckets.keys(), ...predBuckets.keys()])].sort();
    const confusions: Record<string, BinaryConfusion> = {};
    for (const segmentValue of values) {
      const one = scopeFields(
        evalBuckets.get(segmentValue),
        predBuckets.get(segmentValue),
        'segment',
        s,
        bounds,
      );
      const confusion = one.fields.confusion as BinaryConfusion | undefined;
      if (confusion) confusions[segmentValue] = confusion;
      documents.push({
        id: resultId('performance', [model, version, segmentName, segmentValue, start, end]),
        document: withoutNulls({
          ...base,
          window: { ...base.window, count: one.predicted },
          segment: { name: segmentName, value: segmentValue },
          performance: one.fields,
        }),
      });
    }
    if (s.task === 'binary') {
      documents.push({
        id: resultId('fairness', [model, version, segmentName, start, end]),
        document: fairnessDocument(fairnessBySegment(confusions), base, segmentName, s),
      });
    }
  }
  return documents;
}

/**
 * The classes with a `prediction.probabilities.<class>` field in the prediction stream (field caps:
 * one cheap request, no documents read); none when the model logs no probabilities. A class name
 * with a dot is stored with `_` in its place (schema/normalize.ts) and then does not match its
 * `prediction.label`; such a class is left out of the estimate.
 */
async function probabilityClasses(client: Client, index: string): Promise<string[]> {
  const prefix = 'prediction.probabilities.';
  try {
    const caps = await client.fieldCaps({
      index,
      fields: `${prefix}*`,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    return Object.keys(caps.fields)
      .filter((f) => f.startsWith(prefix) && f.length > prefix.length)
      .map((f) => f.slice(prefix.length))
      .sort();
  } catch {
    return [];
  }
}

/** Computes (and by default writes) the performance documents of one window. */
export async function runPerformanceJob(
  client: Client,
  options: PerformanceJobOptions,
): Promise<PerformanceJobResult> {
  checkWindow(options.window);
  const s = settingsOf(options);
  const streams = streamNames(options.namespace ?? DEFAULT_NAMESPACE);
  const versions = options.version
    ? [options.version]
    : await versionsInWindow(client, [streams.prediction, streams.evaluation], options.model, options.window);
  const documents: PerformanceResult[] = [];
  if (s.task === 'multiclass') s.classes = await probabilityClasses(client, streams.prediction);
  for (const version of versions) {
    const calibration =
      typeof options.calibration === 'function' ? await options.calibration(version) : options.calibration;
    const vs: Settings = { ...s, calibration };
    const requests = windowRequests(options, vs, streams, version);
    const [evaluations, predictions] = await Promise.all([
      searchOrEmpty(client, requests.evaluations),
      searchOrEmpty(client, requests.predictions),
    ]);
    documents.push(
      ...versionDocuments(options, vs, version, rootBucket(evaluations), rootBucket(predictions)),
    );
  }
  if (options.write === false) return { documents };
  const written = await upsertIntoDataStream(client, streams.performance, documents, {
    refresh: options.refresh,
  });
  if (written.failed.length > 0) {
    const first = written.failed[0];
    throw new Error(
      `performance: ${written.failed.length} documents not written (first: ${first?.id}: ${first?.reason})`,
    );
  }
  return { documents, written };
}
