/**
 * Small helpers for building aggregation requests and reading their answers without `any`.
 */
import type { estypes } from '@elastic/elasticsearch';

export type AggRequest = Record<string, unknown>;

export interface Bucket {
  key?: unknown;
  doc_count: number;
  [sub: string]: unknown;
}

export interface ExtendedStats {
  count: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  sum: number;
  std_deviation: number | null;
}

/** `range` aggregation buckets over inner cut points: (−∞, e0), [e0, e1), …, [e_k−1, +∞). */
export function rangeOverEdges(field: string, edges: readonly number[]): AggRequest {
  const ranges: Array<{ from?: number; to?: number }> = [];
  for (let i = 0; i <= edges.length; i++) {
    const r: { from?: number; to?: number } = {};
    if (i > 0) r.from = edges[i - 1] as number;
    if (i < edges.length) r.to = edges[i] as number;
    ranges.push(r);
  }
  return { range: { field, ranges, keyed: false } };
}

/** Bucket counts of a {@link rangeOverEdges} answer, in edge order. */
export function rangeCounts(answer: unknown, expected: number): Bucket[] {
  const buckets = (answer as { buckets?: Bucket[] } | undefined)?.buckets ?? [];
  if (buckets.length !== expected) {
    throw new Error(`range aggregation returned ${buckets.length} buckets, expected ${expected}`);
  }
  // Elasticsearch sorts ranges by (from, to); ours are contiguous and sorted, so the order is ours.
  return buckets;
}

export function sub<T>(aggs: unknown, name: string): T {
  const v = (aggs as Record<string, unknown> | undefined)?.[name];
  if (v === undefined) throw new Error(`aggregation ${name} missing from the answer`);
  return v as T;
}

export function docCount(aggs: unknown, name: string): number {
  return sub<{ doc_count: number }>(aggs, name).doc_count;
}

export function termsBuckets(aggs: unknown, name: string): { buckets: Bucket[]; other: number } {
  const t = sub<{ buckets: Bucket[]; sum_other_doc_count?: number }>(aggs, name);
  return { buckets: t.buckets, other: t.sum_other_doc_count ?? 0 };
}

/** The key of a terms bucket as a string (numbers come back as numbers, booleans with key_as_string). */
export function bucketKey(b: Bucket): string {
  const s = (b as { key_as_string?: string }).key_as_string;
  return s ?? String(b.key);
}

export function totalHits(response: { hits: { total?: number | { value: number } } }): number {
  const t = response.hits.total;
  return typeof t === 'number' ? t : (t?.value ?? 0);
}

/** Our requests are plain objects (some options, e.g. t-digest compression, are not in the client's types). */
export function asAggs(aggs: AggRequest): Record<string, estypes.AggregationsAggregationContainer> {
  return aggs as Record<string, estypes.AggregationsAggregationContainer>;
}
