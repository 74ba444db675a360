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
import { normalQuantile } from '../stats/performance/distributions.js';
import { windowFilter } from '../elastic/filters.js';
import { upsertIntoDataStream, type UpsertResult } from '../elastic/upsert.js';
import { resultId, withoutNulls } from '../schema/result-document.js';
import type { WindowTarget } from './window-target.js';
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
  /** regression: the absolute-error summaries of A and B the MAE test was made from */
  maeSummaries?: [SampleSummary, SampleSummary];
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
    result.maeSummaries = [summary(a.abs_error), summary(b.abs_error)];
    result.mae = compareMeans(result.maeSummaries[0], result.maeSummaries[1], level);
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

/**
 * What a comparison says: B better, B worse, no difference at the level, or not enough labels
 * yet. `insufficient_data` below MIN_LABELLED_PER_VERSION labelled predictions of either version
 * (the normal approximation of both tests needs some), or when the test is undefined.
 */
export type ComparisonVerdict = 'b_better' | 'b_worse' | 'no_difference' | 'insufficient_data';

/** Fewest labelled predictions per version before a comparison gives a verdict. */
export const MIN_LABELLED_PER_VERSION = 30;
/** Power with which `sample_needed` detects a difference the size of the one observed. */
export const COMPARISON_POWER = 0.8;

/** The headline of a comparison: one metric, B − A, its interval and p-value, and the verdict. */
export interface ComparisonOutcome {
  /** `accuracy` (classification: higher is better) or `mae` (regression: lower is better) */
  metric: 'accuracy' | 'mae';
  a: number | null;
  b: number | null;
  difference: number | null;
  lower: number | null;
  upper: number | null;
  level: number;
  pValue: number | null;
  verdict: ComparisonVerdict;
  /**
   * Labelled predictions per version at which a difference the size of the one observed would be
   * significant at `level` with power COMPARISON_POWER (normal approximation): how long to wait
   * when the verdict is `no_difference`. Null when nothing differs.
   */
  sampleNeeded: number | null;
}

/**
 * The verdict of a two-sided test at `level`: significant (p < 1 − level) and the difference's sign
 * says better or worse, where `higherIsBetter` is false for an error.
 */
export function comparisonVerdict(
  counts: { a: number; b: number },
  difference: number | null,
  pValue: number | null,
  level: number,
  higherIsBetter: boolean,
): ComparisonVerdict {
  if (Math.min(counts.a, counts.b) < MIN_LABELLED_PER_VERSION || difference === null || pValue === null)
    return 'insufficient_data';
  if (pValue >= 1 - level) return 'no_difference';
  return difference > 0 === higherIsBetter ? 'b_better' : 'b_worse';
}

/** n per version = (z₁₋α/₂ + z_power)² · (varA + varB) / d², rounded up. */
function sampleNeeded(varianceA: number, varianceB: number, difference: number | null, level: number) {
  if (difference === null || difference === 0 || !Number.isFinite(varianceA + varianceB)) return null;
  const z = normalQuantile(0.5 + level / 2) + normalQuantile(COMPARISON_POWER);
  return Math.ceil((z * z * (varianceA + varianceB)) / (difference * difference));
}

/** The headline of a computed comparison (accuracy for classification, MAE for regression). */
export function comparisonOutcome(c: VersionComparison, level = 0.95): ComparisonOutcome | null {
  const counts = { a: c.countA, b: c.countB };
  if (c.accuracy) {
    const { a, b, difference, pValue, ci } = c.accuracy;
    const variance = (p: number | null) => (p === null ? NaN : p * (1 - p));
    return {
      metric: 'accuracy',
      a,
      b,
      difference,
      lower: ci?.lower ?? null,
      upper: ci?.upper ?? null,
      level,
      pValue,
      verdict: comparisonVerdict(counts, difference, pValue, level, true),
      sampleNeeded: sampleNeeded(variance(a), variance(b), difference, level),
    };
  }
  if (c.mae && c.maeSummaries) {
    const { difference, pValue, ci } = c.mae;
    const [sa, sb] = c.maeSummaries;
    return {
      metric: 'mae',
      a: sa.n > 0 ? sa.mean : null,
      b: sb.n > 0 ? sb.mean : null,
      difference,
      lower: ci?.lower ?? null,
      upper: ci?.upper ?? null,
      level,
      pValue,
      verdict: comparisonVerdict(counts, difference, pValue, level, false),
      sampleNeeded: sampleNeeded(sa.variance, sb.variance, difference, level),
    };
  }
  return null;
}

/**
 * The versions with labelled predictions in the window, champion first: the version whose first
 * prediction (up to the window's end) is the oldest is A, every other is a B compared with it.
 */
export async function liveVersions(
  client: Client,
  options: { namespace?: string; model: string; window: TimeWindow },
): Promise<string[]> {
  const streams = streamNames(options.namespace ?? DEFAULT_NAMESPACE);
  const response = await searchOrEmpty(client, {
    index: streams.prediction,
    size: 0,
    query: {
      bool: {
        filter: [
          { term: { 'model.name': options.model } },
          { range: { '@timestamp': { lt: options.window.end.toISOString() } } },
        ],
      },
    },
    aggs: {
      versions: {
        terms: { field: 'model.version', size: 100 },
        aggs: {
          first: { min: { field: '@timestamp' } },
          live: { filter: windowFilter(options.window) },
        },
      },
    },
  });
  type B = { key: unknown; first: { value: number | null }; live: { doc_count: number } };
  const buckets = (response?.aggregations?.versions as { buckets?: B[] } | undefined)?.buckets ?? [];
  return buckets
    .filter((b) => b.live.doc_count > 0)
    .sort((x, y) => (x.first.value ?? 0) - (y.first.value ?? 0) || String(x.key).localeCompare(String(y.key)))
    .map((b) => String(b.key));
}

export interface ComparisonJobOptions extends WindowTarget {
  task: PerformanceTask;
  positiveClass?: Label;
  threshold?: number;
  level?: number;
}

export interface ComparisonJobResult {
  outcomes: Array<ComparisonOutcome & { versionA: string; versionB: string; countA: number; countB: number }>;
  documents: Array<{ id: string; document: Record<string, unknown> }>;
  written?: UpsertResult;
}

/**
 * A/B per window: when two or more versions of the model are live in the window, each later
 * version B is compared with the champion A (liveVersions) and one document per pair is written to
 * the performance stream with `performance.scope: comparison` (the model-scope readers filter it
 * out) and the figures under `comparison.*`. One version live: nothing is written.
 */
export async function runVersionComparisonJob(
  client: Client,
  options: ComparisonJobOptions,
): Promise<ComparisonJobResult> {
  checkWindow(options.window);
  const level = options.level ?? 0.95;
  const versions = await liveVersions(client, options);
  const result: ComparisonJobResult = { outcomes: [], documents: [] };
  const [champion, ...challengers] = versions;
  if (champion === undefined) return result;
  const start = options.window.start.toISOString();
  const end = options.window.end.toISOString();
  for (const challenger of challengers) {
    const c = await compareVersions(client, { ...options, versionA: champion, versionB: challenger, level });
    const outcome = comparisonOutcome(c, level);
    if (!outcome) continue;
    result.outcomes.push({
      ...outcome,
      versionA: champion,
      versionB: challenger,
      countA: c.countA,
      countB: c.countB,
    });
    result.documents.push({
      id: resultId('comparison', [options.model, `${champion}|${challenger}`, start, end]),
      document: withoutNulls({
        '@timestamp': end,
        window: { start, end, count: c.countA + c.countB },
        model: { name: options.model, version: challenger },
        performance: { scope: 'comparison' },
        comparison: {
          version_a: champion,
          version_b: challenger,
          metric: outcome.metric,
          count_a: c.countA,
          count_b: c.countB,
          a: outcome.a,
          b: outcome.b,
          difference: outcome.difference,
          lower: outcome.lower,
          upper: outcome.upper,
          level,
          p_value: outcome.pValue,
          verdict: outcome.verdict,
          sample_needed: outcome.sampleNeeded,
          min_sample: MIN_LABELLED_PER_VERSION,
        },
      }) as Record<string, unknown>,
    });
  }
  if (options.write === false || result.documents.length === 0) return result;
  const streams = streamNames(options.namespace ?? DEFAULT_NAMESPACE);
  result.written = await upsertIntoDataStream(client, streams.performance, result.documents, {
    refresh: options.refresh,
  });
  if (result.written.failed.length > 0)
    throw new Error(
      `comparison: ${result.written.failed.length} documents not written (${result.written.failed[0]?.reason})`,
    );
  return result;
}
