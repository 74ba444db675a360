import { DriftInputError } from './errors.js';
import { chiSquareSf } from './gamma.js';
import { psiFromCounts } from './psi.js';

/** Category → count. A Map keeps insertion order; a plain record is accepted for convenience. */
export type CategoryCounts = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

export interface AlignedCounts {
  /** Union of the categories of both sides, reference categories first (in their order), then new ones. */
  categories: string[];
  reference: number[];
  current: number[];
}

/**
 * Put two category-count tables on the union of their categories; a category absent from one side
 * has count 0 there. Categories with count 0 on both sides are dropped (they carry no information
 * and would make the chi-square expected counts zero).
 */
export function alignCategories(reference: CategoryCounts, current: CategoryCounts): AlignedCounts {
  const ref = toMap(reference, 'reference');
  const cur = toMap(current, 'current');
  const categories: string[] = [];
  const r: number[] = [];
  const c: number[] = [];
  for (const [k, v] of ref) {
    const w = cur.get(k) ?? 0;
    if (v === 0 && w === 0) continue;
    categories.push(k);
    r.push(v);
    c.push(w);
  }
  for (const [k, w] of cur) {
    if (ref.has(k) || w === 0) continue;
    categories.push(k);
    r.push(0);
    c.push(w);
  }
  return { categories, reference: r, current: c };
}

/**
 * Jensen–Shannon distance, base 2, between the category distributions (counts normalised to
 * shares): sqrt((KL(p‖m) + KL(q‖m)) / 2) with m = (p + q)/2 and logs in base 2, so it lies in
 * [0, 1]: 0 for identical shares, 1 for disjoint supports. Same value as
 * `scipy.spatial.distance.jensenshannon(p, q, base=2)`. Throws on an empty side.
 */
export function jensenShannonFromCounts(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
): number {
  if (referenceCounts.length !== currentCounts.length) {
    throw new DriftInputError('jensen-shannon: the two count vectors differ in length');
  }
  const n1 = checkedTotal(referenceCounts, 'reference');
  const n2 = checkedTotal(currentCounts, 'current');
  let js = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const p = (referenceCounts[i] as number) / n1;
    const q = (currentCounts[i] as number) / n2;
    const m = (p + q) / 2;
    if (p > 0) js += p * Math.log(p / m);
    if (q > 0) js += q * Math.log(q / m);
  }
  // Rounding can leave a tiny negative for identical inputs; the divergence is ≥ 0 by definition.
  return Math.sqrt(Math.max(0, js / 2 / Math.LN2));
}

/** {@link jensenShannonFromCounts} over the union of categories of two count tables. */
export function jensenShannon(reference: CategoryCounts, current: CategoryCounts): number {
  const a = alignCategories(reference, current);
  return jensenShannonFromCounts(a.reference, a.current);
}

export interface ChiSquareResult {
  statistic: number;
  /** (2 − 1)(k − 1) for k categories. */
  dof: number;
  pvalue: number;
}

/**
 * Pearson chi-square test of independence on the 2 × k table (reference, current) × category,
 * without continuity correction: the same numbers as
 * `scipy.stats.chi2_contingency([ref, cur], correction=False)`. Expected counts are
 * row total × column total / grand total; the p-value is the chi-square survival function with
 * k − 1 degrees of freedom. With a single category (dof 0) the two sides cannot differ: statistic
 * 0, p-value 1, as scipy returns. Categories empty on both sides must be dropped first (they are
 * by {@link chiSquare}); an empty side throws.
 */
export function chiSquareFromCounts(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
): ChiSquareResult {
  if (referenceCounts.length !== currentCounts.length) {
    throw new DriftInputError('chi-square: the two count vectors differ in length');
  }
  const n1 = checkedTotal(referenceCounts, 'reference');
  const n2 = checkedTotal(currentCounts, 'current');
  const n = n1 + n2;
  const k = referenceCounts.length;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const r = referenceCounts[i] as number;
    const c = currentCounts[i] as number;
    const col = r + c;
    if (col === 0) throw new DriftInputError(`chi-square: category ${i} is empty on both sides`);
    const er = (n1 * col) / n;
    const ec = (n2 * col) / n;
    stat += ((r - er) * (r - er)) / er + ((c - ec) * (c - ec)) / ec;
  }
  const dof = k - 1;
  if (dof === 0) return { statistic: 0, dof: 0, pvalue: 1 };
  return { statistic: stat, dof, pvalue: chiSquareSf(stat, dof) };
}

/** {@link chiSquareFromCounts} over the union of categories of two count tables. */
export function chiSquare(reference: CategoryCounts, current: CategoryCounts): ChiSquareResult {
  const a = alignCategories(reference, current);
  return chiSquareFromCounts(a.reference, a.current);
}

/** PSI over categories (each category a bin), empty shares floored as for numeric PSI. */
export function categoricalPsi(reference: CategoryCounts, current: CategoryCounts): number {
  const a = alignCategories(reference, current);
  return psiFromCounts(a.reference, a.current);
}

function toMap(counts: CategoryCounts, what: string): ReadonlyMap<string, number> {
  const m: ReadonlyMap<string, number> = counts instanceof Map ? counts : new Map(Object.entries(counts));
  for (const [k, v] of m) {
    if (!(Number.isFinite(v) && v >= 0))
      throw new DriftInputError(`${what}: invalid count ${v} for category ${k}`);
  }
  return m;
}

function checkedTotal(counts: readonly number[], what: string): number {
  let t = 0;
  for (const c of counts) {
    if (!(Number.isFinite(c) && c >= 0)) throw new DriftInputError(`${what}: invalid count ${c}`);
    t += c;
  }
  if (t === 0) throw new DriftInputError(`${what} has no values`);
  return t;
}
