/**
 * Issue 28 item 6 (concept drift's stdX): the variance of x from per-bin sums, x = 1e9 + u with u
 * uniform on [−1, 1]. Expected: the two-pass variance of the raw values (Σ(x − x̄)²/n, computed
 * here), ≈ 1/3. The one-pass formula main used (Σx²/n − x̄² over all bins) is computed beside it
 * and is noise at this offset (it gave −768 in the issue).
 */
import { describe, expect, it } from 'vitest';
import { varianceFromBins, type BinSums } from '../../src/stats/binned-variance.js';
import { seededRandom } from '../helpers/random.js';

function binsOf(values: number[], edges: number[]): BinSums[] {
  const bins: BinSums[] = Array.from({ length: edges.length + 1 }, () => ({
    count: 0,
    sum: 0,
    sumOfSquares: 0,
    min: null,
    max: null,
  }));
  for (const x of values) {
    let k = 0;
    while (k < edges.length && x >= (edges[k] as number)) k++;
    const b = bins[k] as BinSums;
    b.count++;
    b.sum += x;
    b.sumOfSquares += x * x;
    b.min = b.min === null ? x : Math.min(b.min, x);
    b.max = b.max === null ? x : Math.max(b.max, x);
  }
  return bins;
}

describe('variance from bins', () => {
  it('1e9 ± 1: equals the two-pass variance where the one-pass formula is noise', () => {
    const random = seededRandom(6);
    const values = Array.from({ length: 20_000 }, () => 1e9 + (2 * random() - 1));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const twoPass = values.reduce((a, x) => a + (x - mean) ** 2, 0) / values.length;
    expect(twoPass).toBeCloseTo(1 / 3, 2);
    // ten bins between quantile-like edges, as the profile's edges cut a feature
    const edges = Array.from({ length: 9 }, (_, k) => 1e9 - 1 + (2 * (k + 1)) / 10);
    const bins = binsOf(values, edges);
    const all = bins.reduce((a, b) => ({ n: a.n + b.count, s: a.s + b.sum, q: a.q + b.sumOfSquares }), {
      n: 0,
      s: 0,
      q: 0,
    });
    const onePass = all.q / all.n - (all.s / all.n) ** 2;
    expect(Math.abs(onePass - twoPass)).toBeGreaterThan(0.1); // main's formula: noise
    // between-bin part exact; the within-bin part clamped to (0.2)²/4 per bin at most
    expect(Math.abs(varianceFromBins(bins) - twoPass)).toBeLessThan(0.01);
  });

  it('an ordinary scale: equal to the two-pass variance', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 5000 }, () => 10 * random());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const twoPass = values.reduce((a, x) => a + (x - mean) ** 2, 0) / values.length;
    expect(varianceFromBins(binsOf(values, [2, 4, 6, 8]))).toBeCloseTo(twoPass, 9);
  });
});
