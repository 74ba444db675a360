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
 *   evaluation stream's score histogram as the labelled predictions its reliability is judged on;
 * - the regression estimate (direct loss estimation, with a loss model from the reference): one
 *   nest of `range` aggregations per tree of the loss model in the prediction search (loss-estimate.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import { upsertIntoDataStream } from '../elastic/upsert.js';
import { type Bucket } from '../elastic/aggs.js';
import { searchOrEmpty } from '../elastic/search.js';
import { resultId, withoutNulls } from '../schema/result-document.js';
import { DEFAULT_NAMESPACE, streamNames } from '../schema/streams.js';
import { checkWindow } from '../schema/window.js';
import {
  binaryMetrics,
  brierFromSum,
  evaluateBounds,
  fairnessBySegment,
  logLossFromSum,
  multiclassMetrics,
  pooledActualSums,
  regressionMetrics,
  rocAucFromBins,
  type BinaryConfusion,
  type BoundViolation,
  type ConfusionMatrix,
  type Gap,
  type PerformanceBounds,
  type RegressionSums,
  type ShiftedActualGroup,
} from '../stats/performance/index.js';
import {
  SCORE_BINS,
  PerformanceJobOptions,
  PerformanceResult,
  PerformanceJobResult,
  Settings,
  segmentAggName,
  subOrEmpty,
  buckets,
  value,
  scoreBinIndex,
  versionsInWindow,
  settingsOf,
  windowRequests,
  rootBucket,
} from './performance-request.js';
import { probabilityClasses } from '../elastic/source.js';
import { estimatedFields, multiclassEstimatedFields } from './performance-estimate.js';
import { lossEstimatedFields } from './loss-estimate.js';

export {
  SCORE_BIN_WIDTH,
  SCORE_BINS,
  scoreBinIndex,
  type PerformanceJobOptions,
  type PerformanceJobResult,
  type PerformanceResult,
  type PerformanceTask,
} from './performance-request.js';

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

type ExtendedStats = { count?: number; sum?: number | null; sum_of_squares?: number | null };

/**
 * Σ(y − c), Σ(y − c)² per join shift c, pooled ({@link pooledActualSums}); the plain Σy, Σy² only
 * when the groups do not cover every document (more shifts than were read).
 */
function actualSums(bucket: Bucket): Pick<RegressionSums, 'sumActual' | 'sumSquaredActual' | 'actualShift'> {
  const actual = bucket.actual as ExtendedStats | undefined;
  const plain = { sumActual: actual?.sum ?? 0, sumSquaredActual: actual?.sum_of_squares ?? 0 };
  const shifts = bucket.actual_shifts as { buckets?: Bucket[]; sum_other_doc_count?: number } | undefined;
  if (!shifts || (shifts.sum_other_doc_count ?? 0) > 0) return plain;
  const unshifted = (subOrEmpty(bucket, 'actual_unshifted').y ?? {}) as ExtendedStats;
  const groups: ShiftedActualGroup[] = (shifts.buckets ?? []).map((b) => {
    const y = (b.y ?? {}) as ExtendedStats;
    return { n: y.count ?? 0, shift: b.key as number, sum: y.sum ?? 0, sumOfSquares: y.sum_of_squares ?? 0 };
  });
  groups.push({
    n: unshifted.count ?? 0,
    shift: 0,
    sum: unshifted.sum ?? 0,
    sumOfSquares: unshifted.sum_of_squares ?? 0,
  });
  if (groups.reduce((s, g) => s + g.n, 0) !== (actual?.count ?? 0)) return plain;
  return pooledActualSums(groups);
}

function regressionFields(bucket: Bucket): Record<string, unknown> {
  const ape = bucket.ape as { count?: number; sum?: number | null } | undefined;
  const m = regressionMetrics({
    n: bucket.doc_count,
    sumError: value(bucket, 'error'),
    sumAbsError: value(bucket, 'abs_error'),
    sumSquaredError: value(bucket, 'sq_error'),
    sumAbsPercentageError: ape?.sum ?? 0,
    nonZeroActualCount: ape?.count ?? 0,
    ...actualSums(bucket),
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
  if (s.task === 'multiclass' && predBucket && predicted > 0) {
    const estimated = s.classes.length > 0 ? multiclassEstimatedFields(predBucket, evalBucket, s) : null;
    // A label-only classifier (no score, no class probabilities) cannot be estimated without labels:
    // no `estimated` at all (never an accuracy of 0), and the document says why (issue 27).
    if (s.classes.length === 0 || estimated?.count === 0) fields.not_estimated = NO_PROBABILITIES;
    else fields.estimated = estimated;
  }
  if (s.task === 'regression' && s.lossModel && scopeName === 'model' && predBucket)
    fields.estimated = lossEstimatedFields(predBucket, evalBucket, s.lossModel);
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

/** Why a multi-class window has no `performance.estimated`: its predictions carry no probabilities. */
export const NO_PROBABILITIES = {
  reason: 'no_probabilities',
  message:
    'no class probabilities logged with these predictions (a label-only classifier): performance cannot be estimated without labels',
} as const;

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
    const lossModel =
      typeof options.lossModel === 'function' ? await options.lossModel(version) : options.lossModel;
    // one option carries either map; each task takes its own kind
    const vs: Settings = {
      ...s,
      calibration: calibration?.method === 'isotonic' && s.task === 'binary' ? calibration : undefined,
      multiclassCalibration:
        calibration?.method === 'top_label_isotonic' && s.task === 'multiclass' ? calibration : undefined,
      lossModel,
    };
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
