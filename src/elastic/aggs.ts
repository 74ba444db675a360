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

/**
 * What an aggregation costs relative to the others in a window request, for {@link splitAggregations}:
 * one read of the field's doc values per aggregation, and a sub-aggregation under each bucket
 * (the numeric `range` with its per-bin `extended_stats`) about three times a plain pass
 * (bench/RESULTS.md, "What the window request costs").
 */
function aggregationCost(agg: unknown): number {
  return typeof agg === 'object' && agg !== null && 'aggs' in agg ? 3 : 1;
}

/**
 * Splits the top-level aggregations of one request into at most `parts` requests of about equal
 * cost (longest first, each to the lightest part so far). Answers are merged back by name, so the
 * split changes nothing in the results.
 *
 * Why: a shard search runs on one thread, and one request of ~40 aggregations keeps one core busy
 * while the rest of the node idles. Sent as 8 concurrent requests, the same aggregations over 1M
 * documents answered in ~0.8 s instead of ~2.1 s on a 2-core node: more than the 2 cores explain,
 * because a request with fewer aggregations also walks fewer doc-values iterators per document.
 */
export function splitAggregations(aggs: AggRequest, parts: number): AggRequest[] {
  const entries = Object.entries(aggs);
  const n = Number.isFinite(parts) ? Math.max(1, Math.min(Math.floor(parts), entries.length)) : 1;
  if (n <= 1) return entries.length > 0 ? [aggs] : [];
  const groups: AggRequest[] = Array.from({ length: n }, () => ({}));
  const load = new Array<number>(n).fill(0);
  const byCost = entries
    .map(([name, agg], order) => ({ name, agg, order, cost: aggregationCost(agg) }))
    .sort((a, b) => b.cost - a.cost || a.order - b.order);
  for (const e of byCost) {
    let lightest = 0;
    for (let i = 1; i < n; i++) if ((load[i] as number) < (load[lightest] as number)) lightest = i;
    (groups[lightest] as AggRequest)[e.name] = e.agg;
    load[lightest] = (load[lightest] as number) + e.cost;
  }
  return groups;
}
