/**
 * Pearson correlations read from aggregation answers, for the concept-drift signal: from
 * `matrix_stats` where the cluster has the aggregations module, else from per-bin sub-aggregations
 * (see `binnedCorrelation`). Used by the profile builder and the window analysis alike.
 */
import { binnedCorrelation } from '../stats/correlation.js';
import { type Bucket, type ExtendedStats, sub } from './aggs.js';

/** Correlation between a feature and the output from per-bin `avg(x)` and `stats(y)` sub-aggregations. */
export function binnedFromBuckets(buckets: readonly Bucket[], stdX: number, stdY: number): number {
  return binnedCorrelation(
    buckets.map((b) => {
      const y = b.y as ExtendedStats | undefined;
      // `avg` (profile request: { value }) or `extended_stats` (window concept request: { avg }).
      const x = b.x as { value?: number | null; avg?: number | null } | undefined;
      return { count: y?.count ?? 0, meanX: x?.value ?? x?.avg ?? 0, sumY: y?.sum ?? 0 };
    }),
    stdX,
    stdY,
  );
}

/** The answer of one `matrix_stats` aggregation (the part read here). */
export interface MatrixStatsAnswer {
  fields?: Array<{ name: string; correlation?: Record<string, number> }>;
}

/** Correlation between two fields from a `matrix_stats` answer named `corr` among `aggs`. */
export function matrixCorrelation(aggs: unknown, field: string, other: string): number {
  return correlationFromMatrix(sub<MatrixStatsAnswer>(aggs, 'corr'), field, other);
}

/** Correlation between two fields from the answer of one `matrix_stats` aggregation (NaN when absent). */
export function correlationFromMatrix(m: MatrixStatsAnswer, field: string, other: string): number {
  const v = m.fields?.find((f) => f.name === field)?.correlation?.[other];
  return typeof v === 'number' ? v : NaN;
}
