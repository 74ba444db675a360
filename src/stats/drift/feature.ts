import {
  alignCategories,
  chiSquareFromCounts,
  jensenShannonFromCounts,
  type CategoryCounts,
} from './categorical.js';
import { decideDrift, type DriftConfig, type DriftDecision } from './decide.js';
import { ks2sampSorted } from './ks.js';
import { psiFromCounts, psiSorted } from './psi.js';
import { meanStd, sortedFinite } from './sample.js';
import { wassersteinSorted } from './wasserstein.js';
import { meanShiftZ } from './zscore.js';

export interface NumericDriftStats {
  psi: number;
  ks: number;
  ks_pvalue: number;
  /** Normalised Wasserstein distance (by the reference std, floored). */
  wasserstein: number;
  /** Raw Wasserstein-1 distance in the feature's units. */
  wasserstein_distance: number;
  /** Mean shift in reference standard errors; ±Infinity possible for a constant reference. */
  mean_shift_z: number;
}

export interface CategoricalDriftStats {
  js: number;
  chi2: number;
  chi2_dof: number;
  chi2_pvalue: number;
  psi: number;
}

/**
 * Every numeric drift statistic from raw (non-missing) samples, exactly, each side sorted once,
 * and the decision. Throws {@link DriftInputError} if either side is empty.
 */
export function numericDrift(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  config: DriftConfig = {},
): { stats: NumericDriftStats; decision: DriftDecision } {
  const ref = sortedFinite(reference, 'reference');
  const cur = sortedFinite(current, 'current');
  const ks = ks2sampSorted(ref, cur);
  const w = wassersteinSorted(ref, cur);
  const refMs = meanStd(ref);
  const curMs = meanStd(cur);
  const stats: NumericDriftStats = {
    psi: psiSorted(ref, cur).value,
    ks: ks.statistic,
    ks_pvalue: ks.pvalue,
    wasserstein: w.normalized,
    wasserstein_distance: w.distance,
    mean_shift_z: meanShiftZ(refMs, { mean: curMs.mean, count: cur.length }),
  };
  const decision = decideDrift('numeric', stats, { reference: ref.length, current: cur.length }, config);
  return { stats, decision };
}

/** Every categorical drift statistic from category counts (union of categories), and the decision. */
export function categoricalDrift(
  reference: CategoryCounts,
  current: CategoryCounts,
  config: DriftConfig = {},
): { stats: CategoricalDriftStats; decision: DriftDecision } {
  const a = alignCategories(reference, current);
  const chi = chiSquareFromCounts(a.reference, a.current);
  const stats: CategoricalDriftStats = {
    js: jensenShannonFromCounts(a.reference, a.current),
    chi2: chi.statistic,
    chi2_dof: chi.dof,
    chi2_pvalue: chi.pvalue,
    psi: psiFromCounts(a.reference, a.current),
  };
  const n1 = a.reference.reduce((s, c) => s + c, 0);
  const n2 = a.current.reduce((s, c) => s + c, 0);
  return { stats, decision: decideDrift('categorical', stats, { reference: n1, current: n2 }, config) };
}
