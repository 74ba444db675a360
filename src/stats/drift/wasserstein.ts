import { DriftInputError } from './errors.js';
import { checkBinned } from './ks.js';
import { meanStd, requireNonEmpty, sortedFinite } from './sample.js';

/**
 * Smallest reference standard deviation used as the divisor of the normalised distance. A constant
 * reference has std 0, and "divided by 0" would make every change infinite (and unrepresentable in
 * JSON); the peer tool floors the divisor at 0.001, and so do we so that scores stay comparable.
 */
export const WASSERSTEIN_STD_FLOOR = 0.001;

export interface WassersteinResult {
  /** Wasserstein-1 (earth mover's) distance in the feature's own units. */
  distance: number;
  /** distance / max(reference std (ddof 0), floor): the drift score DESIGN.md calls `drift.wasserstein`. */
  normalized: number;
  /** The reference standard deviation (ddof 0) before flooring. */
  referenceStd: number;
}

/**
 * W1 = ∫ |F_a(x) − F_b(x)| dx between two empirical distributions, exactly, in one merge pass over
 * the sorted samples: between consecutive distinct values both CDFs are constant, so the integral
 * is a sum of |i/n1 − j/n2| × gap. Same value as `scipy.stats.wasserstein_distance(a, b)`.
 */
export function wasserstein1Sorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length;
  const n2 = b.length;
  requireNonEmpty(n1, 'reference');
  requireNonEmpty(n2, 'current');
  let i = 0;
  let j = 0;
  let w = 0;
  let x = Math.min(a[0] as number, b[0] as number);
  while (i < n1 || j < n2) {
    while (i < n1 && (a[i] as number) <= x) i++;
    while (j < n2 && (b[j] as number) <= x) j++;
    if (i === n1 && j === n2) break;
    const next = Math.min(i < n1 ? (a[i] as number) : Infinity, j < n2 ? (b[j] as number) : Infinity);
    w += Math.abs(i / n1 - j / n2) * (next - x);
    x = next;
  }
  return w;
}

/** Wasserstein-1 distance, raw and normalised by the reference standard deviation (ddof 0). */
export function wasserstein(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { stdFloor?: number } = {},
): WassersteinResult {
  return wassersteinSorted(sortedFinite(reference, 'reference'), sortedFinite(current, 'current'), options);
}

/** {@link wasserstein} on samples already sorted ascending. */
export function wassersteinSorted(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { stdFloor?: number } = {},
): WassersteinResult {
  const distance = wasserstein1Sorted(reference, current);
  const referenceStd = meanStd(reference).std;
  return { distance, referenceStd, normalized: normalize(distance, referenceStd, options.stdFloor) };
}

export interface BinnedWassersteinOptions {
  /** Reference standard deviation (ddof 0), from the profile. */
  referenceStd: number;
  /** Left end of the first bin: the smaller of the reference and current minimum. */
  lower: number;
  /** Right end of the last bin: the larger of the reference and current maximum. */
  upper: number;
  stdFloor?: number;
}

/**
 * Wasserstein-1 from binned data (the Elasticsearch path). Bins follow the {@link binIndex}
 * convention over the inner cut points `edges`; the open outer bins are closed at `lower` and
 * `upper`. Approximation: inside each bin both CDFs are taken as linear (the bin's mass spread
 * uniformly), so each bin contributes the exact integral of |linear − linear| over it (split where
 * the difference changes sign). The error is largest where the data have point masses (ties),
 * which uniform spreading smears: e.g. a constant reference whose value is also an edge.
 */
export function wassersteinFromBinnedCounts(
  edges: readonly number[],
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  options: BinnedWassersteinOptions,
): WassersteinResult {
  checkBinned(edges, referenceCounts, currentCounts, 'wasserstein');
  const { lower, upper } = options;
  const first = edges.length > 0 ? (edges[0] as number) : upper;
  const last = edges.length > 0 ? (edges[edges.length - 1] as number) : lower;
  if (!(lower <= first && upper >= last && lower <= upper)) {
    throw new DriftInputError(`wasserstein: [lower, upper] = [${lower}, ${upper}] must enclose the edges`);
  }
  const n1 = referenceCounts.reduce((s, c) => s + c, 0);
  const n2 = currentCounts.reduce((s, c) => s + c, 0);
  requireNonEmpty(n1, 'reference');
  requireNonEmpty(n2, 'current');
  const knots = [lower, ...edges, upper];
  let f1 = 0;
  let f2 = 0;
  let w = 0;
  for (let b = 0; b < knots.length - 1; b++) {
    const width = (knots[b + 1] as number) - (knots[b] as number);
    const g1 = f1 + (referenceCounts[b] as number) / n1;
    const g2 = f2 + (currentCounts[b] as number) / n2;
    w += width * integralAbsLinear(f1 - f2, g1 - g2);
    f1 = g1;
    f2 = g2;
  }
  return {
    distance: w,
    referenceStd: options.referenceStd,
    normalized: normalize(w, options.referenceStd, options.stdFloor),
  };
}

/** ∫_0^1 |u + (v − u) t| dt: the mean of |linear function| with end values u and v. */
function integralAbsLinear(u: number, v: number): number {
  if ((u >= 0 && v >= 0) || (u <= 0 && v <= 0)) return Math.abs(u + v) / 2;
  // sign change at t0 = u / (u − v): two triangles
  return (u * u + v * v) / (2 * (Math.abs(u) + Math.abs(v)));
}

function normalize(distance: number, std: number, floor = WASSERSTEIN_STD_FLOOR): number {
  return distance / Math.max(std, floor);
}

/**
 * Expected Wasserstein-1 distance between a sample of `n` values and the population it was drawn
 * from, bounded by J1(F) / √n with J1 = ∫ √(F(x)(1 − F(x))) dx (Bobkov and Ledoux, "One-dimensional
 * empirical measures, order statistics, and Kantorovich transport distances", 2019, Theorem 3.5;
 * asymptotically E·√n → √(2/π)·J1, so the bound is about 25 % above the expected value).
 *
 * This is the error stated for a sampled window: |W(reference, sample) − W(reference, window)| ≤
 * W(sample, window) by the triangle inequality. F is the sample's binned CDF, linear inside each bin
 * (as in {@link wassersteinFromBinnedCounts}), with the open outer bins closed at `lower` and `upper`;
 * spreading the outer bins' mass uniformly makes the integral larger, never smaller, for
 * distributions with thinning tails. `n` defaults to the total of `counts`.
 */
export function wassersteinSamplingError(
  edges: readonly number[],
  counts: readonly number[],
  lower: number,
  upper: number,
  n = counts.reduce((s, c) => s + c, 0),
): number {
  checkBinned(edges, counts, counts, 'wasserstein sampling error');
  const total = counts.reduce((s, c) => s + c, 0);
  requireNonEmpty(total, 'sample');
  const knots = [lower, ...edges, upper];
  let f = 0;
  let j1 = 0;
  for (let b = 0; b < counts.length; b++) {
    const width = (knots[b + 1] as number) - (knots[b] as number);
    const g = Math.min(1, f + (counts[b] as number) / total);
    // ∫ √(F(1 − F)) over the bin with F linear from f to g: width · mean of √(u(1 − u)) on [f, g].
    j1 +=
      width *
      (g > f ? (rootVarianceIntegral(g) - rootVarianceIntegral(f)) / (g - f) : Math.sqrt(f * (1 - f)));
    f = g;
  }
  return j1 / Math.sqrt(n);
}

/** An antiderivative of √(u(1 − u)) on [0, 1]. */
function rootVarianceIntegral(u: number): number {
  const v = Math.min(1, Math.max(0, u));
  return ((2 * v - 1) * Math.sqrt(v * (1 - v))) / 4 + Math.asin(2 * v - 1) / 8;
}
