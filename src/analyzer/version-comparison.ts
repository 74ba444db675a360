/**
 * Version comparison (A/B, champion/challenger): two versions of one model over the same period,
 * from the evaluation stream. Classification: accuracy (and, for binary, precision and recall) as
 * proportions with the two-proportion z-test; regression: mean absolute and mean squared error with
 * Welch's t-test on the per-prediction `eval.abs_error` / `eval.sq_error` (count, mean and sample
 * variance from `extended_stats`). Differences are B − A.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import {
  compareMeans,
  compareProportions,
  labelKey,
  type Label,
  type MeanComparison,
  type Proportion,
  type ProportionComparison,
  type SampleSummary,
} from '../stats/performance/index.js';
import { windowFilter } from '../elastic/filters.js';
import { searchOrEmpty } from '../elastic/search.js';
import { DEFAULT_NAMESPACE, streamNames } from '../schema/streams.js';
import { checkWindow, type TimeWindow } from '../schema/window.js';
import type { PerformanceTask } from './performance.js';

export interface VersionComparisonOptions {
  namespace?: string;
  model: string;
  versionA: string;
  versionB: string;
  task: PerformanceTask;
  window: TimeWindow;
  positiveClass?: Label;
  threshold?: number;
  /** confidence level of the intervals; default 0.95 */
  level?: number;
}

export interface VersionComparison {
  model: string;
  versionA: string;
  versionB: string;
  window: { start: string; end: string };
  /** labelled predictions of each version */
  countA: number;
  countB: number;
  /** classification */
  accuracy?: ProportionComparison & { countsA: Proportion; countsB: Proportion };
  precision?: ProportionComparison;
  recall?: ProportionComparison;
  /** regression: difference in mean absolute error (positive: B is worse) */
  mae?: MeanComparison;
  /** regression: difference in mean squared error (positive: B is worse) */
  mse?: MeanComparison;
}

type Bucket = {
  doc_count: number;
  correct?: { value: number | null };
  tp?: { doc_count: number };
  fp?: { doc_count: number };
  fn?: { doc_count: number };
  abs_error?: { count: number; avg: number | null; variance_sampling: number | null };
  sq_error?: { count: number; avg: number | null; variance_sampling: number | null };
};

function summary(stats: Bucket['abs_error']): SampleSummary {
  return { n: stats?.count ?? 0, mean: stats?.avg ?? NaN, variance: stats?.variance_sampling ?? NaN };
}

/** Compares two versions of a model over one window; see the module comment. */
export async function compareVersions(
  client: Client,
  options: VersionComparisonOptions,
): Promise<VersionComparison> {
  checkWindow(options.window);
  const streams = streamNames(options.namespace ?? DEFAULT_NAMESPACE);
  const level = options.level ?? 0.95;
  const threshold = options.threshold ?? 0.5;
  const positive: estypes.QueryDslQueryContainer = {
    term: { 'actual.label': labelKey(options.positiveClass ?? '1') },
  };
  // Same decision rule as the performance job: the score against the threshold, else the label.
  const predictedPositive: estypes.QueryDslQueryContainer = {
    bool: {
      should: [
        { range: { 'prediction.score': { gte: threshold } } },
        {
          bool: {
            filter: [{ term: { 'prediction.label': labelKey(options.positiveClass ?? '1') } }],
            must_not: [{ exists: { field: 'prediction.score' } }],
          },
        },
      ],
      minimum_should_match: 1,
    },
  };
  const perVersion: Record<string, estypes.AggregationsAggregationContainer> =
    options.task === 'regression'
      ? {
          abs_error: { extended_stats: { field: 'eval.abs_error' } },
          sq_error: { extended_stats: { field: 'eval.sq_error' } },
        }
      : options.task === 'binary'
        ? {
            tp: { filter: { bool: { filter: [predictedPositive, positive] } } },
            fp: { filter: { bool: { filter: [predictedPositive], must_not: [positive] } } },
            fn: { filter: { bool: { filter: [positive], must_not: [predictedPositive] } } },
            tn: { filter: { bool: { must_not: [predictedPositive, positive] } } },
          }
        : { correct: { sum: { field: 'eval.correct' } } };
  const evaluable: estypes.QueryDslQueryContainer =
    options.task === 'regression'
      ? { exists: { field: 'eval.sq_error' } }
      : { exists: { field: 'actual.label' } };
  const response = await searchOrEmpty(client, {
    index: streams.evaluation,
    size: 0,
    query: {
      bool: {
        filter: [
          { term: { 'model.name': options.model } },
          { terms: { 'model.version': [options.versionA, options.versionB] } },
          windowFilter(options.window),
          evaluable,
        ],
      },
    },
    aggs: {
      a: { filter: { term: { 'model.version': options.versionA } }, aggs: perVersion },
      b: { filter: { term: { 'model.version': options.versionB } }, aggs: perVersion },
    },
  });
  const a = (response?.aggregations?.a ?? { doc_count: 0 }) as Bucket;
  const b = (response?.aggregations?.b ?? { doc_count: 0 }) as Bucket;
  const result: VersionComparison = {
    model: options.model,
    versionA: options.versionA,
    versionB: options.versionB,
    window: { start: options.window.start.toISOString(), end: options.window.end.toISOString() },
    countA: a.doc_count,
    countB: b.doc_count,
  };
  if (options.task === 'regression') {
    result.mae = compareMeans(summary(a.abs_error), summary(b.abs_error), level);
    result.mse = compareMeans(summary(a.sq_error), summary(b.sq_error), level);
    return result;
  }
  const correct = (x: Bucket): number =>
    options.task === 'binary'
      ? x.doc_count - (x.fp?.doc_count ?? 0) - (x.fn?.doc_count ?? 0)
      : (x.correct?.value ?? 0);
  const countsA = { successes: correct(a), trials: a.doc_count };
  const countsB = { successes: correct(b), trials: b.doc_count };
  result.accuracy = { ...compareProportions(countsA, countsB, level), countsA, countsB };
  if (options.task === 'binary') {
    const tp = (x: Bucket) => x.tp?.doc_count ?? 0;
    result.precision = compareProportions(
      { successes: tp(a), trials: tp(a) + (a.fp?.doc_count ?? 0) },
      { successes: tp(b), trials: tp(b) + (b.fp?.doc_count ?? 0) },
      level,
    );
    result.recall = compareProportions(
      { successes: tp(a), trials: tp(a) + (a.fn?.doc_count ?? 0) },
      { successes: tp(b), trials: tp(b) + (b.fn?.doc_count ?? 0) },
      level,
    );
  }
  return result;
}
