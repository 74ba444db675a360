/**
 * Pearson correlation between a feature and the model output, for the concept-drift signal: exact
 * from paired values, and from per-bin moments when only aggregations are available (no scripts,
 * so no sum of products x·y inside Elasticsearch).
 */

/** Per-bin moments of a feature bin: documents with both values, mean of x in the bin, sum of y. */
export interface BinMoments {
  count: number;
  meanX: number;
  sumY: number;
}

/**
 * Correlation from bins of x: Cov(X, Y) = Σ_b n_b (x̄_b − x̄)(ȳ_b − ȳ) / N + Σ_b n_b Cov_b(X, Y) / N.
 * The first term (between bins) is computable from per-bin averages; the second (within bins) is
 * dropped. |Cov_b| ≤ sd_b(X)·sd_b(Y) and sd_b(X) ≤ half the bin width, so with percentile bins the
 * dropped part is at most max bin half-width × sd(Y), small next to sd(X)·sd(Y) unless x has a long
 * tail inside one bin. Divided by the overall standard deviations of x and y (exact, from
 * `extended_stats`). Undefined (NaN) with fewer than two documents or a constant side.
 */
export function binnedCorrelation(bins: readonly BinMoments[], stdX: number, stdY: number): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (const b of bins) {
    if (b.count <= 0) continue;
    n += b.count;
    sx += b.count * b.meanX;
    sy += b.sumY;
  }
  if (n < 2 || !(stdX > 0) || !(stdY > 0)) return NaN;
  const mx = sx / n;
  const my = sy / n;
  // Σ n_b (x̄_b − mx)(ȳ_b − my) written with the sums to avoid a second pass.
  let cov = 0;
  for (const b of bins) {
    if (b.count <= 0) continue;
    cov += (b.meanX - mx) * (b.sumY - b.count * my);
  }
  return clampUnit(cov / n / (stdX * stdY));
}

/** Exact Pearson correlation of paired values (pairs with a non-finite side are skipped). */
export function pearsonCorrelation(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  let n = 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    n++;
    mx += (x - mx) / n;
    my += (y - my) / n;
  }
  if (n < 2) return NaN;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
    syy += (y - my) * (y - my);
  }
  if (sxx === 0 || syy === 0) return NaN;
  return clampUnit(sxy / Math.sqrt(sxx * syy));
}

/** Default: a change of the feature–output correlation by at least this much is reported. */
export const CORRELATION_CHANGE_THRESHOLD = 0.2;

function clampUnit(r: number): number {
  return r > 1 ? 1 : r < -1 ? -1 : r;
}
