import { DriftInputError } from './errors.js';
import { binCounts, quantileEdges } from './quantile.js';
import { requireNonEmpty, sortedFinite } from './sample.js';

/** Share given to an empty bin so that ln(cur/ref) stays finite (the peer tools' convention). */
export const PSI_EMPTY_SHARE = 1e-4;
/** Number of reference-quantile bins PSI uses by default (deciles), per DESIGN.md. */
export const PSI_DEFAULT_BINS = 10;

export interface PsiResult {
  /** Σ (cur − ref) · ln(cur / ref) over bins, on shares. */
  value: number;
  /** Inner cut points (reference quantiles); bins are open-ended at both ends. */
  edges: number[];
  referenceCounts: number[];
  currentCounts: number[];
}

/**
 * Population Stability Index from counts that are already binned (same bins on both sides), e.g.
 * from a stored reference profile and an Elasticsearch `range` aggregation, or category counts in
 * the same category order.
 *
 * Shares are counts / total; a share that is exactly zero (an empty bin) is replaced by
 * `emptyShare` (1e-4), as the peer tools do: PSI is undefined for an empty bin and the floor keeps
 * one empty bin from dominating. Non-empty bins are used as they are, even when their share is
 * below the floor, so that binned and raw paths agree exactly.
 */
export function psiFromCounts(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  emptyShare: number = PSI_EMPTY_SHARE,
): number {
  if (referenceCounts.length !== currentCounts.length) {
    throw new DriftInputError(
      `psi: ${referenceCounts.length} reference bins but ${currentCounts.length} current bins`,
    );
  }
  const refTotal = total(referenceCounts, 'psi reference counts');
  const curTotal = total(currentCounts, 'psi current counts');
  let psi = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = share(referenceCounts[i] as number, refTotal, emptyShare);
    const c = share(currentCounts[i] as number, curTotal, emptyShare);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/**
 * PSI of `current` against `reference` over `bins` reference-quantile bins (deciles by default).
 * Edges are numpy-linear quantiles of the reference; a value equal to an edge goes to the upper bin.
 * Throws {@link DriftInputError} on an empty or non-finite sample.
 */
export function psi(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { bins?: number; emptyShare?: number } = {},
): PsiResult {
  const ref = sortedFinite(reference, 'reference');
  const cur = sortedFinite(current, 'current');
  return psiSorted(ref, cur, options);
}

/** {@link psi} on data already sorted with `sortedFinite` (saves a sort when computing several statistics). */
export function psiSorted(
  reference: Float64Array,
  current: Float64Array,
  options: { bins?: number; emptyShare?: number } = {},
): PsiResult {
  requireNonEmpty(reference.length, 'reference');
  requireNonEmpty(current.length, 'current');
  const edges = quantileEdges(reference, options.bins ?? PSI_DEFAULT_BINS);
  const referenceCounts = binCounts(edges, reference);
  const currentCounts = binCounts(edges, current);
  return {
    value: psiFromCounts(referenceCounts, currentCounts, options.emptyShare),
    edges,
    referenceCounts,
    currentCounts,
  };
}

function total(counts: readonly number[], what: string): number {
  let t = 0;
  for (const c of counts) {
    if (!(Number.isFinite(c) && c >= 0)) throw new DriftInputError(`${what}: invalid count ${c}`);
    t += c;
  }
  if (t === 0) throw new DriftInputError(`${what} are all zero`);
  return t;
}

function share(count: number, tot: number, emptyShare: number): number {
  return count === 0 ? emptyShare : count / tot;
}
