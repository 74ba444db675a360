/**
 * The performance job's requests and how its answers are read: settings, the aggregations on the
 * evaluation stream (realised metrics) and the prediction stream (coverage, the estimate's inputs),
 * the two searches of a version's window, and the readers of the buckets they return. Split from
 * performance.ts (issue 18) where a reader would: what is asked here, what is made of it there.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { type UpsertResult } from '../elastic/upsert.js';
import { sub, termsBuckets, totalHits, type Bucket } from '../elastic/aggs.js';
import { windowFilter } from '../elastic/filters.js';
import { searchOrEmpty } from '../elastic/search.js';
import { streamNames } from '../schema/streams.js';
import { type TimeWindow } from '../schema/window.js';
import type { DirectLossModel } from '../stats/performance/dle.js';
import { lossAggregations } from './loss-estimate.js';
import {
  labelKey,
  type Label,
  type MulticlassCalibration,
  type PerformanceBounds,
  type ScoreCalibration,
} from '../stats/performance/index.js';

export type PerformanceTask = 'binary' | 'multiclass' | 'regression';

/**
 * A configuration file's `performance.bounds` (`accuracy: { min: 0.8 }`) as the job takes them:
 * one reading for the scheduler's job and `mlmon analyze --config`, so both judge alike.
 */
export function configuredBounds(
  bounds: Record<string, { min?: number; max?: number }>,
): Record<string, PerformanceBounds> {
  const out: Record<string, PerformanceBounds> = {};
  for (const [metric, b] of Object.entries(bounds))
    out[metric] = { lower: b.min ?? null, upper: b.max ?? null };
  return out;
}

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
   * binary: the reference period's score calibration (multi-class: its per-class maps,
   * stats/performance/cbpe-multiclass-calibration.ts) (stored with the baseline, see
   * profiles/calibration.ts); the estimate maps scores through it. Without it, raw scores are
   * taken as probabilities and `performance.estimated.calibrated` is false. A function is asked per
   * version (each version has its own baseline; see analyzer/baseline.ts `calibrationLookup`).
   */
  calibration?:
    | ScoreCalibration
    | MulticlassCalibration
    | ((version: string) => Promise<ScoreCalibration | MulticlassCalibration | undefined>);
  /**
   * regression: the reference period's loss model (direct loss estimation, stored with the baseline,
   * see profiles/loss-model.ts); with it the model-scope document carries `performance.estimated`
   * (`mae`, `rmse`, their bands and verdict). A function is asked per version (analyzer/loss-estimate.ts
   * `lossModelLookup`).
   */
  lossModel?: DirectLossModel | ((version: string) => Promise<DirectLossModel | undefined>);
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

export type Aggs = Record<string, estypes.AggregationsAggregationContainer>;
export type Query = estypes.QueryDslQueryContainer;

export interface Settings {
  task: PerformanceTask;
  positiveKey: string;
  threshold: number;
  maxClasses: number;
  calibration: ScoreCalibration | undefined;
  /** multi-class: the per-class maps of the estimate (absent: raw probabilities) */
  multiclassCalibration?: MulticlassCalibration | undefined;
  lossModel?: DirectLossModel | undefined;
  /** multi-class: the classes with a `prediction.probabilities.<class>` field (the estimate's input) */
  classes: string[];
}

export function actualPositive(s: Settings): Query {
  return { term: { 'actual.label': s.positiveKey } };
}

export function predictedPositive(s: Settings): Query {
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

export const scoreHistogram = (aggs: Aggs): estypes.AggregationsAggregationContainer => ({
  histogram: { field: 'prediction.score', interval: SCORE_BIN_WIDTH, min_doc_count: 1 },
  aggs,
});

/** Metric aggregations on evaluation documents, per task. */
export function evaluationAggs(s: Settings): Aggs {
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
      ...(s.classes.length > 0
        ? {
            by_predicted: probabilitiesByPredicted(s),
            ...probabilityStats(s),
            ...ownProbabilityBins(s, true),
          }
        : {}),
    };
  }
  return {
    error: { sum: { field: 'eval.error' } },
    abs_error: { sum: { field: 'eval.abs_error' } },
    sq_error: { sum: { field: 'eval.sq_error' } },
    ape: { stats: { field: 'eval.ape' } },
    actual: { extended_stats: { field: 'actual.value' } },
    // R²'s total sum of squares about each join shift (eval.actual_shift, issue 28.6), and the
    // documents joined before the shift existed, read as they are (shift 0).
    actual_shifts: {
      terms: { field: 'eval.actual_shift', size: ACTUAL_SHIFT_GROUPS },
      aggs: { y: { extended_stats: { field: 'eval.actual_shifted' } } },
    },
    actual_unshifted: {
      filter: { bool: { must_not: [{ exists: { field: 'eval.actual_shift' } }] } },
      aggs: { y: { extended_stats: { field: 'actual.value' } } },
    },
  };
}

/**
 * Shift groups read per window: one per model normally (the join keeps its first actual), a few when
 * concurrent first joins chose differently. Past it, R² falls back to the unshifted sums.
 */
export const ACTUAL_SHIFT_GROUPS = 20;

/** Documents of the evaluation stream that can be evaluated for the task. */
export function evaluableFilter(task: PerformanceTask): Query {
  return task === 'regression'
    ? { exists: { field: 'eval.sq_error' } }
    : { exists: { field: 'actual.label' } };
}

export function predictionAggs(s: Settings): Aggs {
  if (s.task === 'binary')
    return { score_bins: scoreHistogram({ mean: { avg: { field: 'prediction.score' } } }) };
  if (s.task === 'multiclass' && s.classes.length > 0)
    return { by_predicted: probabilitiesByPredicted(s), ...ownProbabilityBins(s, false) };
  return {};
}

/** Per class k: `extended_stats` of `prediction.probabilities.<k>` (Σ p_k, Σ p_k²). */
export function probabilityStats(s: Settings): Aggs {
  return Object.fromEntries(
    s.classes.map((c, i) => [`p_${i}`, { extended_stats: { field: `prediction.probabilities.${c}` } }]),
  );
}

/** Multi-class CBPE input: per predicted class, the probability sums of every class. */
export function probabilitiesByPredicted(s: Settings): estypes.AggregationsAggregationContainer {
  return {
    terms: { field: 'prediction.label', size: s.maxClasses },
    aggs: { ...probabilityStats(s), right: { sum: { field: 'eval.correct' } } },
  };
}

/**
 * Multi-class with calibration maps: per class c, the predictions of c binned by their own
 * probability `prediction.probabilities.<c>` (0.001 bins: count, mean; on evaluations also the right
 * ones), what the per-class maps are applied to (stats/performance/cbpe-multiclass-calibration.ts).
 * A `filter` per class because an aggregation's field cannot depend on its parent bucket's key.
 */
export function ownProbabilityBins(s: Settings, labelled: boolean): Aggs {
  if (!s.multiclassCalibration) return {};
  return Object.fromEntries(
    s.classes.map((c, i) => [
      `own_${i}`,
      {
        filter: { term: { 'prediction.label': c } },
        aggs: {
          bins: {
            histogram: {
              field: `prediction.probabilities.${c}`,
              interval: SCORE_BIN_WIDTH,
              min_doc_count: 1,
            },
            aggs: {
              mean: { avg: { field: `prediction.probabilities.${c}` } },
              ...(labelled ? { right: { sum: { field: 'eval.correct' } } } : {}),
            },
          },
        },
      },
    ]),
  );
}

export const segmentAggName = (i: number): string => `segment_${i}`;

export function withSegments(aggs: Aggs, segments: readonly string[], size: number): Aggs {
  const out: Aggs = { ...aggs };
  segments.forEach((name, i) => {
    out[segmentAggName(i)] = { terms: { field: `labels.${name}`, size }, aggs };
  });
  return out;
}

/** A sub-aggregation of a bucket; its empty shape when the bucket has none (an empty segment). */
export function subOrEmpty(bucket: Bucket, name: string): Bucket {
  return name in bucket ? sub<Bucket>(bucket, name) : { doc_count: 0 };
}

/** The buckets of a multi-bucket sub-aggregation (terms, histogram); none when it is absent. */
export function buckets(bucket: Bucket, name: string): Bucket[] {
  return name in bucket ? termsBuckets(bucket, name).buckets : [];
}

/** A single-value metric (sum, value_count, avg); 0 when absent or null (an empty bucket). */
export function value(bucket: Bucket, name: string): number {
  return name in bucket ? (sub<{ value: number | null }>(bucket, name).value ?? 0) : 0;
}

/** Bin index of a histogram key: keys are floor(score / 0.001) · 0.001; 1.0 folds into the top bin. */
export function scoreBinIndex(key: number): number {
  return Math.min(SCORE_BINS - 1, Math.max(0, Math.round(key / SCORE_BIN_WIDTH)));
}

export async function versionsInWindow(
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

export function settingsOf(options: PerformanceJobOptions): Settings {
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
export function windowRequests(
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
      aggs: {
        ...withSegments(predictionAggs(s), segments, maxSegmentValues),
        ...(s.task === 'regression' && s.lossModel ? lossAggregations(s.lossModel) : {}),
      },
    },
  };
}

/** A search answer as the root bucket the readers take: the hit count and the aggregations. */
export function rootBucket(response: estypes.SearchResponse | undefined): Bucket {
  return { doc_count: response ? totalHits(response) : 0, ...(response?.aggregations ?? {}) };
}
