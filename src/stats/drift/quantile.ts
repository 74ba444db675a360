import { DriftInputError } from './errors.js';
import { requireNonEmpty } from './sample.js';

/**
 * Quantile of sorted data with numpy's default method ('linear', type 7): virtual index
 * h = (n - 1) q, interpolated between the neighbouring order statistics. The interpolation is
 * written the way numpy writes it (from the lower value when the fraction is below one half, from
 * the upper value otherwise) so that edges agree with `np.quantile` to the last bit; that matters
 * because a value equal to an edge is binned differently from one a hair below it.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  requireNonEmpty(n, 'sample');
  if (!(q >= 0 && q <= 1)) throw new DriftInputError(`quantile ${q} outside [0, 1]`);
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * The `bins - 1` inner cut points at quantiles 1/bins, 2/bins, … of sorted reference data, e.g. the
 * nine deciles for `bins = 10`. The outer bins are open-ended, so current values beyond the
 * reference range still count (in the first or last bin) instead of being dropped.
 * Edges may repeat when the reference has ties (a constant feature gives all-equal edges); the
 * bins between equal edges are then always empty on both sides and contribute nothing.
 */
export function quantileEdges(sorted: ArrayLike<number>, bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1)
    throw new DriftInputError(`bins must be a positive integer, got ${bins}`);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) edges.push(quantileSorted(sorted, i / bins));
  return edges;
}

/**
 * Index of the bin that `value` falls in, for inner cut points `edges` (sorted ascending):
 * bin i is [edges[i-1], edges[i]) with edges[-1] = -∞ and edges[k] = +∞, so a value equal to an
 * edge goes to the upper bin (the number of edges ≤ value). The same convention as an
 * Elasticsearch `range` aggregation, whose `from` is inclusive and `to` exclusive.
 */
export function binIndex(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Count values per bin (length edges.length + 1), binning as {@link binIndex}. */
export function binCounts(edges: ArrayLike<number>, values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = binIndex(edges, values[i] as number);
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}
