/**
 * ROC-AUC, exact and from binned score counts.
 *
 * Why bins: the analyzer cannot sort a window's predictions inside Elasticsearch and must not pull
 * them out, but it can count positives and negatives per score bin (a `histogram` aggregation on
 * `prediction.score`, e.g. interval 0.001 over [0, 1], with a `filter` sub-aggregation on the
 * actual label). AUC is the probability that a random positive outscores a random negative
 * (Mann–Whitney), and with bins every positive/negative pair in different bins is ordered exactly;
 * only pairs that share a bin are unknown. Counting those as half a win is what the trapezoid rule
 * over the binned ROC curve does, and the true AUC differs from it by at most half the share of
 * same-bin pairs: `errorBound = Σ_b pos_b·neg_b / (2·P·N)`. With 1000 bins on a continuous score the
 * bound is typically below 1e-3 (see the tests for a measured case).
 */
import { assertSameLength, type Label, positivePredicate } from './binary.js';

/** Positive and negative counts per score bin, bins ordered by ascending score. */
export interface BinnedScoreCounts {
  positives: readonly number[];
  negatives: readonly number[];
}

/** Result of {@link rocAucFromBins}. */
export interface BinnedAuc {
  /** trapezoid AUC (same-bin pairs count 0.5); null when there is no positive or no negative */
  auc: number | null;
  /**
   * Largest possible |true AUC − auc| given only the bins: Σ pos_b·neg_b / (2PN). The exact AUC of
   * the underlying scores lies in [auc − errorBound, auc + errorBound]. null when auc is null.
   */
  errorBound: number | null;
  /** total positives P */
  positives: number;
  /** total negatives N */
  negatives: number;
}

/**
 * AUC from per-bin positive/negative counts (bins in ascending score order). Counts may be
 * fractional (CBPE feeds expected counts through this function).
 */
export function rocAucFromBins(bins: BinnedScoreCounts): BinnedAuc {
  const { positives, negatives } = bins;
  if (positives.length !== negatives.length) {
    throw new RangeError(
      `rocAucFromBins: positives and negatives differ in length (${positives.length} vs ${negatives.length})`,
    );
  }
  let negBelow = 0;
  let wins = 0; // Σ_b pos_b · (negatives in lower bins)
  let ties = 0; // Σ_b pos_b · neg_b
  let P = 0;
  for (let b = 0; b < positives.length; b++) {
    const pos = positives[b] as number;
    const neg = negatives[b] as number;
    if (!(pos >= 0) || !(neg >= 0) || !Number.isFinite(pos) || !Number.isFinite(neg)) {
      throw new RangeError(`rocAucFromBins: bin ${b} has an invalid count (${pos}, ${neg})`);
    }
    wins += pos * negBelow;
    ties += pos * neg;
    negBelow += neg;
    P += pos;
  }
  const N = negBelow;
  if (P === 0 || N === 0) return { auc: null, errorBound: null, positives: P, negatives: N };
  const pairs = P * N;
  return { auc: (wins + 0.5 * ties) / pairs, errorBound: ties / (2 * pairs), positives: P, negatives: N };
}

/** `count + 1` equal-width edges over [lower, upper]: the bins of a `histogram` aggregation. */
export function equalWidthEdges(count: number, lower = 0, upper = 1): number[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bin count must be a positive integer`);
  if (!(upper > lower)) throw new RangeError(`upper must exceed lower`);
  const width = (upper - lower) / count;
  const edges: number[] = [];
  for (let i = 0; i <= count; i++) edges.push(i === count ? upper : lower + i * width);
  return edges;
}

/**
 * Index of the bin holding `x` for ascending `edges` (length B+1): bin b is [edges[b], edges[b+1]),
 * the last bin is closed on the right. Values outside [edges[0], edges[B]] go to the first/last bin
 * (a score of exactly 1 on 1000 bins must land in the top bin, and a mis-scaled score should not
 * vanish from the counts).
 */
export function binIndex(edges: readonly number[], x: number): number {
  const last = edges.length - 2;
  if (last < 0) throw new RangeError('binIndex: need at least two edges');
  if (Number.isNaN(x)) throw new RangeError('binIndex: value is NaN');
  // binary search for the largest b with edges[b] <= x
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((edges[mid] as number) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Bins raw scores with their actual labels into per-bin positive/negative counts. */
export function binScores(
  actual: readonly Label[],
  scores: readonly number[],
  edges: readonly number[],
  options: { positiveClass?: Label } = {},
): BinnedScoreCounts {
  assertSameLength(actual, scores, 'binScores');
  checkEdges(edges);
  const isPositive = positivePredicate(options.positiveClass);
  const B = edges.length - 1;
  const positives = new Array<number>(B).fill(0);
  const negatives = new Array<number>(B).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = binIndex(edges, scores[i] as number);
    if (isPositive(actual[i] as Label)) positives[b]! += 1;
    else negatives[b]! += 1;
  }
  return { positives, negatives };
}

/** Throws unless edges are at least two finite, strictly increasing numbers. */
export function checkEdges(edges: readonly number[]): void {
  if (edges.length < 2) throw new RangeError('need at least two bin edges');
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i] as number;
    if (!Number.isFinite(e)) throw new RangeError(`bin edge ${i} is not finite`);
    if (i > 0 && !(e > (edges[i - 1] as number))) throw new RangeError('bin edges must strictly increase');
  }
}

/**
 * Exact ROC-AUC (Mann–Whitney U / (P·N)) from raw labels and scores, tied scores counting half.
 * Computed by grouping equal scores, which makes it the binned formula with one bin per distinct
 * score (error bound zero); the counts are integers, so the sums are exact up to 2^53.
 * Returns null when all labels belong to one class (AUC is undefined, as in sklearn, which raises).
 */
export function rocAuc(
  actual: readonly Label[],
  scores: readonly number[],
  options: { positiveClass?: Label } = {},
): number | null {
  assertSameLength(actual, scores, 'rocAuc');
  const isPositive = positivePredicate(options.positiveClass);
  const order = scores.map((_, i) => i);
  for (const s of scores) if (Number.isNaN(s)) throw new RangeError('rocAuc: score is NaN');
  order.sort((i, j) => {
    const a = scores[i] as number;
    const b = scores[j] as number;
    return a < b ? -1 : a > b ? 1 : 0; // not a - b: Infinity - Infinity is NaN
  });
  const positives: number[] = [];
  const negatives: number[] = [];
  let k = 0;
  while (k < order.length) {
    const s = scores[order[k] as number] as number;
    let pos = 0;
    let neg = 0;
    while (k < order.length && scores[order[k] as number] === s) {
      if (isPositive(actual[order[k] as number] as Label)) pos++;
      else neg++;
      k++;
    }
    positives.push(pos);
    negatives.push(neg);
  }
  return rocAucFromBins({ positives, negatives }).auc;
}
