/**
 * The variance of a value from per-bin sums (count, Σx, Σx², min, max), as Elasticsearch's
 * `extended_stats` per range bucket returns them, without the cancellation of Σx²/n − x̄².
 *
 * Why: with values far from zero against their spread (1e9 ± 1), Σx² carries ~1e18 per document
 * and the spread lives below its last bits; the one-pass formula then returns noise, even a
 * negative variance (−768 for 1e9 ± 1, issue 28). Here the variance is split in two:
 * - between bins, Σ n_b (x̄_b − x̄)² / n, from bin means (Σx_b / n_b is accurate to ~1e-16 of x̄):
 *   two passes over the bins, so no cancellation;
 * - within bins, Σ n_b v_b / n, with v_b from the bin's own sums, which can still cancel; it is
 *   clamped to [0, (max_b − min_b)² / 4] (Popoviciu's bound on a variance of values in [min, max]),
 *   so noise can never exceed what the bin's range allows. Narrow bins (quantile edges) keep that
 *   term small; it is exact when the sums are.
 */
export interface BinSums {
  count: number;
  sum: number;
  sumOfSquares: number;
  min: number | null;
  max: number | null;
}

/** Population variance of the values behind `bins`; NaN without documents. */
export function varianceFromBins(bins: readonly BinSums[]): number {
  let n = 0;
  let total = 0;
  for (const b of bins) {
    if (b.count <= 0) continue;
    n += b.count;
    total += b.sum;
  }
  if (n === 0) return NaN;
  const mean = total / n;
  let between = 0;
  let within = 0;
  for (const b of bins) {
    if (b.count <= 0) continue;
    const m = b.sum / b.count;
    between += b.count * (m - mean) ** 2;
    let v = Math.max(0, b.sumOfSquares / b.count - m * m);
    if (b.min !== null && b.max !== null) v = Math.min(v, (b.max - b.min) ** 2 / 4);
    within += b.count * v;
  }
  return (between + within) / n;
}
