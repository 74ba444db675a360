import { DriftInputError } from './errors.js';

/**
 * Copy `values` into a sorted Float64Array, rejecting NaN and ±Infinity.
 *
 * Every exact statistic here (KS, Wasserstein, quantile edges) works on sorted data, so callers
 * that need several of them sort once with this and pass the result to the `*Sorted` variants.
 * Float64Array#sort is a numeric sort, O(n log n).
 */
export function sortedFinite(values: ArrayLike<number>, what = 'sample'): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]))
      throw new DriftInputError(`${what} contains a non-finite value at index ${i}`);
  }
  out.sort();
  return out;
}

export function requireNonEmpty(n: number, what: string): void {
  if (n === 0) throw new DriftInputError(`${what} is empty`);
}

/** Arithmetic mean and population standard deviation (ddof 0), two-pass for accuracy. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  requireNonEmpty(n, 'sample');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    ss += d * d;
  }
  return { mean, std: Math.sqrt(ss / n) };
}
