import { DriftInputError } from './errors.js';
import { kolmogorovSf } from './kolmogorov.js';
import { requireNonEmpty, sortedFinite } from './sample.js';

/** Largest sample size for which the p-value is exact (scipy's MAX_AUTO_N for method='auto'). */
export const KS_EXACT_MAX_N = 10000;

export interface KsResult {
  /** sup_x |F_ref(x) − F_cur(x)| of the two empirical CDFs. */
  statistic: number;
  /** Two-sided p-value. */
  pvalue: number;
  /** How the p-value was computed (see {@link ksPValue}). */
  method: 'exact' | 'asymp';
}

/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, giving the same statistic and p-value as
 * `scipy.stats.ks_2samp(reference, current)` with its default method='auto'.
 * Sorts each sample once (O(n log n)); throws {@link DriftInputError} on an empty sample or a
 * non-finite value (drop missing values first).
 */
export function ks2samp(reference: ArrayLike<number>, current: ArrayLike<number>): KsResult {
  return ks2sampSorted(sortedFinite(reference, 'reference'), sortedFinite(current, 'current'));
}

/** {@link ks2samp} on samples already sorted ascending (e.g. by `sortedFinite`). */
export function ks2sampSorted(reference: ArrayLike<number>, current: ArrayLike<number>): KsResult {
  return ksPValue(ksStatisticSorted(reference, current), reference.length, current.length);
}

/**
 * The KS statistic by one merge pass over two sorted samples: at every distinct value x, both
 * empirical CDFs count the values ≤ x (ties on both sides are absorbed together, so tied data do
 * not create spurious jumps).
 */
export function ksStatisticSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length;
  const n2 = b.length;
  requireNonEmpty(n1, 'reference');
  requireNonEmpty(n2, 'current');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const ai = a[i] as number;
    const bj = b[j] as number;
    const x = ai <= bj ? ai : bj;
    while (i < n1 && (a[i] as number) <= x) i++;
    while (j < n2 && (b[j] as number) <= x) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  // Once one sample is exhausted its CDF is 1 and the other's only grows towards 1: no larger gap.
  return d;
}

/**
 * Two-sided p-value of a two-sample KS statistic `d` for sample sizes n1, n2, by scipy's 'auto'
 * rules (scipy 1.17 `ks_2samp`):
 * - exact when max(n1, n2) ≤ 10 000. The statistic is snapped to the lattice, h = round(d·lcm),
 *   d = h / lcm, and P(D ≥ d) is the share of monotone lattice paths from (0,0) to (n1,n2) that touch
 *   the band |i/n1 − j/n2| ≥ d. For n1 = n2 there is the closed form
 *   2 Σ_k (−1)^{k−1} C(2n, n−kh)/C(2n, n); otherwise a path recursion that carries the probability of
 *   having left the band (1 − p directly, after Viehmann 2021, arXiv:2102.08037) so that small
 *   p-values keep their relative precision;
 * - otherwise asymptotic: the one-sample two-sided KS survival function at n = round(n1·n2/(n1+n2))
 *   (rounded half to even, like numpy), see {@link kolmogorovSf}.
 * Returns the statistic as used (snapped in the exact case).
 */
export function ksPValue(d: number, n1: number, n2: number): KsResult {
  if (!(Number.isInteger(n1) && Number.isInteger(n2) && n1 > 0 && n2 > 0)) {
    throw new DriftInputError(`ks: sample sizes must be positive integers, got ${n1} and ${n2}`);
  }
  if (!(d >= 0 && d <= 1)) throw new DriftInputError(`ks: statistic ${d} outside [0, 1]`);
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    const snapped = h / lcm;
    if (h === 0) return { statistic: snapped, pvalue: 1, method: 'exact' };
    // Shortcut, not in scipy: when 2·(n1·n2/(n1+n2))·d² > 1000 the p-value is below e^-1000 by the
    // Kolmogorov limit (≈ 2e^{-2·en·d²}); even off by many orders of magnitude it underflows to 0
    // in double precision, which is what the O(n1 · band) recursion would return, slowly.
    if ((2 * n1 * n2 * snapped * snapped) / (n1 + n2) > 1000)
      return { statistic: snapped, pvalue: 0, method: 'exact' };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    return { statistic: snapped, pvalue: clip(p), method: 'exact' };
  }
  const en = roundHalfEven((n1 * n2) / (n1 + n2));
  return { statistic: d, pvalue: clip(kolmogorovSf(en, d)), method: 'asymp' };
}

/**
 * KS from binned data, for the Elasticsearch path: `edges` are the k inner cut points of a
 * reference profile and the counts (length k + 1) follow the {@link binIndex} convention
 * ([e_{i−1}, e_i), value equal to an edge in the upper bin). The statistic is the largest CDF
 * difference at the bin boundaries, which is a lower bound of the exact statistic: the error is at
 * most the largest share of either side inside one bin, so finer bins (e.g. 100 percentiles) bring
 * it within about 0.01. The p-value is {@link ksPValue} on that statistic with the true sample sizes.
 */
export function ksFromBinnedCounts(
  edges: readonly number[],
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
): KsResult {
  checkBinned(edges, referenceCounts, currentCounts, 'ks');
  const n1 = sum(referenceCounts);
  const n2 = sum(currentCounts);
  requireNonEmpty(n1, 'reference');
  requireNonEmpty(n2, 'current');
  let c1 = 0;
  let c2 = 0;
  let d = 0;
  for (let i = 0; i < edges.length; i++) {
    c1 += referenceCounts[i] as number;
    c2 += currentCounts[i] as number;
    const diff = Math.abs(c1 / n1 - c2 / n2);
    if (diff > d) d = diff;
  }
  return ksPValue(d, n1, n2);
}

/** Shared validation of (edges, counts, counts) triples for the binned statistics. */
export function checkBinned(
  edges: readonly number[],
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  what: string,
): void {
  if (referenceCounts.length !== edges.length + 1 || currentCounts.length !== edges.length + 1) {
    throw new DriftInputError(
      `${what}: ${edges.length} edges need ${edges.length + 1} counts per side, got ${referenceCounts.length} and ${currentCounts.length}`,
    );
  }
  for (let i = 1; i < edges.length; i++) {
    if (!((edges[i] as number) >= (edges[i - 1] as number)))
      throw new DriftInputError(`${what}: edges not sorted`);
  }
  for (const c of [...referenceCounts, ...currentCounts]) {
    if (!(Number.isInteger(c) && c >= 0)) throw new DriftInputError(`${what}: invalid count ${c}`);
  }
}

/** P(D_{n,n} ≥ h/n), by the alternating sum written as 2·A1(1 − A2(1 − A3(…))) with Ak = C(2n, n−kh)/C(2n, n−(k−1)h). */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 1; k--) {
    // A_k = Π_{j<h} (n − (k−1)h − j) / (n + (k−1)h + j + 1)
    let a = 1;
    const base = (k - 1) * h;
    for (let j = 0; j < h; j++) a = (a * (n - base - j)) / (n + base + j + 1);
    p = a * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of lattice paths (i, j) from (0,0) to (m,n), steps +1 in i or in j, all paths equally likely,
 * that touch |i·n − j·m| ≥ h·g (i.e. |i/m − j/n| ≥ h / lcm). q(i,j), the probability that a path to
 * (i,j) has already left the band, is 1 outside the band and (i·q(i−1,j) + j·q(i,j−1)) / (i + j)
 * inside it, because a uniformly random path to (i,j) arrives from the left with probability i/(i+j).
 * One column of q is kept, and only its in-band window is updated: O(m · band width).
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  const mg = m / g;
  const ng = n / g;
  const q = new Float64Array(n + 1).fill(1);
  let prevLo = 0;
  for (let i = 0; i <= m; i++) {
    // inside: i·ng − h < j·mg < i·ng + h
    const lo = Math.max(0, Math.floor((i * ng - h) / mg) + 1);
    const hi = Math.min(n, Math.ceil((i * ng + h) / mg) - 1);
    if (lo > hi) return 1;
    for (let j = prevLo; j < lo; j++) q[j] = 1;
    prevLo = lo;
    for (let j = lo; j <= hi; j++) {
      if (i === 0 && j === 0) {
        q[0] = 0;
        continue;
      }
      const fromLeft = q[j] as number; // q(i−1, j), 1 if that cell was outside
      const fromBelow = j > 0 ? (q[j - 1] as number) : 0; // q(i, j−1), already updated
      q[j] = (i * fromLeft + j * fromBelow) / (i + j);
    }
  }
  return q[n] as number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function sum(a: readonly number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

function clip(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
