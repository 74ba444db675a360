/**
 * Explanation-weighted drift: how much the drifted features matter to the model, by the mean
 * absolute attribution (e.g. SHAP) each feature had in the reference. No I/O.
 *
 * Why weight: ten drifted features the model barely uses matter less than one it leans on; the
 * plain drift share counts them alike.
 */

/**
 * Mean of |x| from the sums of the positive and of the negative values (a `range` split at 0 with a
 * `sum` per side: without scripts Elasticsearch cannot sum absolute values directly).
 */
export function meanAbsoluteFromSignSums(sumPositive: number, sumNegative: number, count: number): number {
  if (!(count > 0)) return NaN;
  return (sumPositive - sumNegative) / count;
}

/** Mean of |x| of raw values (non-finite values skipped); NaN when none is finite. */
export function meanAbsolute(values: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    sum += Math.abs(v);
    n++;
  }
  return n > 0 ? sum / n : NaN;
}

export interface ImportanceInput {
  feature: string;
  /** Mean |attribution| of the feature in the reference. */
  meanAbsAttribution: number;
  detected: boolean;
  /** Drift score on a common scale for every kind of feature: PSI (always reported). */
  psi: number | null;
}

export interface RankedFeature {
  feature: string;
  /** The feature's share of the summed mean |attribution| (the importances sum to 1). */
  importance: number;
  detected: boolean;
  psi: number | null;
  /** importance × PSI: the ranking key. */
  weighted_psi: number;
}

export interface ImportanceRanking {
  /** Summed importance of the drifted features (the drift share, weighted). */
  weighted_drift_share: number;
  /** Every feature with an importance, by weighted PSI (descending; ties by name). */
  ranking: RankedFeature[];
}

/** Undefined when no feature has a positive finite importance. */
export function importanceWeightedRanking(inputs: readonly ImportanceInput[]): ImportanceRanking | undefined {
  const usable = inputs.filter((i) => Number.isFinite(i.meanAbsAttribution) && i.meanAbsAttribution >= 0);
  const total = usable.reduce((s, i) => s + i.meanAbsAttribution, 0);
  if (!(total > 0)) return undefined;
  const ranking = usable.map((i) => {
    const importance = i.meanAbsAttribution / total;
    const psi = i.psi !== null && Number.isFinite(i.psi) ? i.psi : null;
    return {
      feature: i.feature,
      importance,
      detected: i.detected,
      psi,
      weighted_psi: importance * (psi ?? 0),
    };
  });
  ranking.sort(
    (a, b) => b.weighted_psi - a.weighted_psi || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0),
  );
  return {
    weighted_drift_share: ranking.filter((r) => r.detected).reduce((s, r) => s + r.importance, 0),
    ranking,
  };
}
