/**
 * Wasserstein-1 from bins that carry, besides their counts, the mean of the values inside them
 * (a `sum` sub-aggregation per `range` bucket). No I/O.
 *
 * Why: with counts only, each bin's mass must be spread somehow (uniformly in
 * `wassersteinFromBinnedCounts`), and in wide tail bins — the last percentile of a skewed feature,
 * or the open bins beyond the reference range — that guess dominates the error. The mean fixes the
 * integral of the CDF over a bin exactly: for bin [a, b) holding share m with mean μ,
 * ∫_a^b F(x) dx = F(a)(b − a) + m (b − μ), since ∫_a^b P(a ≤ X ≤ x) dx = E[(b − X); a ≤ X < b].
 * Where F_ref − F_cur keeps its sign across a bin, ∫|F_ref − F_cur| over the bin is then exact;
 * where the sign differs at the two ends the CDFs cross inside, and the difference is modelled as
 * two linear pieces meeting at zero, placed so that its integral over the bin is still exact.
 */

export interface MomentBins {
  counts: readonly number[];
  /** Mean of the values in each bin; null (or anything) where the count is 0; null elsewhere means "unknown: assume the midpoint". */
  means: ReadonlyArray<number | null>;
}

/**
 * W1 between two binned samples over inner cut points `edges` (bins [e_{i−1}, e_i), open ends
 * closed at `lower` and `upper`, which must enclose all values).
 */
export function wassersteinFromMomentBins(
  edges: readonly number[],
  reference: MomentBins,
  current: MomentBins,
  lower: number,
  upper: number,
): number {
  const n1 = reference.counts.reduce((s, c) => s + c, 0);
  const n2 = current.counts.reduce((s, c) => s + c, 0);
  if (n1 === 0 || n2 === 0) throw new RangeError('wasserstein: an empty side');
  const knots = [lower, ...edges, upper];
  let f1 = 0;
  let f2 = 0;
  let w = 0;
  for (let b = 0; b < knots.length - 1; b++) {
    const a = knots[b] as number;
    const e = knots[b + 1] as number;
    const width = e - a;
    const m1 = (reference.counts[b] as number) / n1;
    const m2 = (current.counts[b] as number) / n2;
    const g1 = f1 + m1;
    const g2 = f2 + m2;
    if (width > 0) {
      const d0 = f1 - f2;
      const d1 = g1 - g2;
      const i1 = f1 * width + m1 * (e - meanIn(reference.means[b], a, e));
      const i2 = f2 * width + m2 * (e - meanIn(current.means[b], a, e));
      if (d0 * d1 >= 0) {
        w += Math.abs(i1 - i2);
      } else {
        // The CDFs cross inside: model D = F_ref − F_cur as two linear pieces d0 → 0 → d1 meeting
        // at the fraction t of the bin chosen so that ∫D matches the exact i1 − i2.
        const t = Math.min(1, Math.max(0, ((2 * (i1 - i2)) / width - d1) / (d0 - d1)));
        w += (width * (Math.abs(d0) * t + Math.abs(d1) * (1 - t))) / 2;
      }
    }
    f1 = g1;
    f2 = g2;
  }
  return w;
}

function meanIn(mean: number | null | undefined, a: number, b: number): number {
  if (mean === null || mean === undefined || !Number.isFinite(mean)) return (a + b) / 2;
  return Math.min(b, Math.max(a, mean));
}
