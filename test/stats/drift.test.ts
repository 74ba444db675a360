/**
 * Drift statistics against independent values: hand-worked small cases, analytic results, and
 * scipy 1.17.1 / numpy outputs. Each scipy number is hard-coded with the Python that produced it.
 * Larger samples use integer-hash sequences that Python and JavaScript compute bit-identically:
 *   A = [((i*7919)%10007)/10007 for i in range(3000)]
 *   B = [((i*104729)%10009)/10009*1.1 for i in range(2000)]
 */
import { describe, expect, it } from 'vitest';
import {
  DriftInputError,
  alignCategories,
  binCounts,
  binIndex,
  categoricalDrift,
  chiSquare,
  chiSquareFromCounts,
  decideDrift,
  defaultMethod,
  jensenShannon,
  kolmogorovSf,
  ks2samp,
  ksFromBinnedCounts,
  ksPValue,
  meanShiftZ,
  meanShiftZFromSamples,
  numericDrift,
  psi,
  psiFromCounts,
  quantileEdges,
  regularizedGammaQ,
  wasserstein,
  wassersteinFromBinnedCounts,
} from '../../src/stats/drift/index.js';

const seq = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
const A = seq(3000, (i) => ((i * 7919) % 10007) / 10007);
const B = seq(2000, (i) => (((i * 104729) % 10009) / 10009) * 1.1);

/** Relative closeness, for numbers that may be tiny. */
function expectRel(actual: number, expected: number, rel = 1e-9): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-300);
}

describe('quantile edges and binning', () => {
  it('matches numpy linear quantiles', () => {
    // python3 -c "import numpy as np; print(np.quantile(np.arange(1,11), np.arange(1,10)/10).tolist())"
    const expected = [1.9, 2.8, 3.6999999999999997, 4.6, 5.5, 6.3999999999999995, 7.3, 8.2, 9.1];
    expect(
      quantileEdges(
        seq(10, (i) => i + 1),
        10,
      ),
    ).toEqual(expected);
  });

  it('puts a value equal to an edge in the upper bin; outer bins are open', () => {
    const edges = [1, 2, 3];
    expect(binIndex(edges, 0.999)).toBe(0);
    expect(binIndex(edges, 1)).toBe(1);
    expect(binIndex(edges, 2)).toBe(2);
    expect(binIndex(edges, 3)).toBe(3);
    expect(binIndex(edges, 1e9)).toBe(3);
    expect(binCounts(edges, [-5, 1, 1.5, 2, 3, 3, 7])).toEqual([1, 2, 1, 3]);
  });
});

describe('PSI', () => {
  it('hand-worked: ten distinct values, all current mass in the top decile', () => {
    // reference 1..10: one value per decile bin (shares 0.1); current all 10 → last bin share 1,
    // nine empty bins floored at 1e-4: 9·(1e-4 − 0.1)·ln(1e-4/0.1) + 0.9·ln(10)
    // python3 -c "import numpy as np; print(repr(9*(1e-4-0.1)*np.log(1e-4/0.1)+0.9*np.log(10)))"
    const r = psi(
      seq(10, (i) => i + 1),
      seq(10, () => 10),
    );
    expect(r.referenceCounts).toEqual(seq(10, () => 1));
    expect(r.currentCounts).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
    expectRel(r.value, 8.283089355027482, 1e-12);
  });

  it('psiFromCounts hand-worked: (0.25−0.5)ln(0.5) + (0.75−0.5)ln(1.5)', () => {
    expectRel(psiFromCounts([50, 50], [25, 75]), 0.25 * Math.log(2) + 0.25 * Math.log(1.5), 1e-14);
  });

  it('matches an independent numpy computation on A vs B', () => {
    // python3 -c "import numpy as np; A=[((i*7919)%10007)/10007 for i in range(3000)]; B=[((i*104729)%10009)/10009*1.1 for i in range(2000)]; e=np.quantile(A,np.arange(1,10)/10); r=np.bincount(np.searchsorted(e,A,side='right'),minlength=10)/len(A); c=np.bincount(np.searchsorted(e,B,side='right'),minlength=10)/len(B); r[r==0]=1e-4; c[c==0]=1e-4; print(repr(float(np.sum((c-r)*np.log(c/r)))))"
    expectRel(psi(A, B).value, 0.055842662497659526, 1e-12);
  });

  it('is 0 for identical samples and symmetric-ish edge cases are defined', () => {
    expect(psi(A, A).value).toBe(0);
    // constant reference: all nine edges equal 5; the value 5 itself goes to the top bin
    const r = psi([5, 5, 5, 5], [5, 5, 6, 4]);
    expect(r.edges).toEqual(seq(9, () => 5));
    expect(r.referenceCounts[9]).toBe(4);
    expect(r.currentCounts[0]).toBe(1);
    expect(r.currentCounts[9]).toBe(3);
  });

  it('rejects empty input and mismatched bins', () => {
    expect(() => psi([], [1])).toThrow(DriftInputError);
    expect(() => psiFromCounts([1, 2], [1])).toThrow(DriftInputError);
    expect(() => psiFromCounts([0, 0], [1, 1])).toThrow(DriftInputError);
    expect(() => psi([1, Number.NaN], [1])).toThrow(DriftInputError);
  });
});

describe('two-sample Kolmogorov–Smirnov (scipy.stats.ks_2samp, method=auto)', () => {
  // python3 -c "from scipy import stats; r=stats.ks_2samp(a, b); print(repr(float(r.statistic)), repr(float(r.pvalue)))"
  const cases: { a: number[]; b: number[]; d: number; p: number; note: string }[] = [
    { a: [1, 2, 3, 4, 5], b: [6, 7, 8, 9, 10, 11], d: 1, p: 0.004329004329004329, note: 'disjoint, exact' },
    {
      a: [0.1, 0.4, 0.4, 0.7, 0.9, 1.3, 2.2],
      b: [0.4, 0.5, 1.1, 1.8, 2.5, 2.6, 3.0, 3.1, 4.0],
      d: 0.5555555555555556,
      p: 0.12674825174825174,
      note: 'ties across samples, exact',
    },
    { a: [1], b: [2], d: 1, p: 1, note: 'single values' },
    { a: [1, 2, 3], b: [1, 2, 3], d: 0, p: 1, note: 'identical' },
  ];
  for (const c of cases) {
    it(c.note, () => {
      const r = ks2samp(c.a, c.b);
      expect(r.method).toBe('exact');
      expectRel(r.statistic, c.d, 1e-15);
      expectRel(r.pvalue, c.p, 1e-12);
    });
  }

  it('hand-worked disjoint p-value: 2 / C(11, 5)', () => {
    // every path that leaves the band: only the two extreme orderings reach D = 1
    expectRel(ks2samp([1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]).pvalue, 2 / 462, 1e-14);
  });

  it('exact, unequal sizes (3000 × 2000), tiny p-value keeps relative precision', () => {
    // python3 -c "from scipy import stats; A=[((i*7919)%10007)/10007 for i in range(3000)]; B=[((i*104729)%10009)/10009*1.1 for i in range(2000)]; r=stats.ks_2samp(A,B); print(repr(float(r.statistic)), repr(float(r.pvalue)))"
    const r = ks2samp(A, B);
    expect(r.method).toBe('exact');
    expectRel(r.statistic, 0.09266666666666666, 1e-14);
    expectRel(r.pvalue, 2.0919567241024512e-9, 1e-9);
  });

  it('exact, equal sizes (800 × 800)', () => {
    // python3 -c "from scipy import stats; A=[((i*7919)%10007)/10007 for i in range(800)]; B=[((i*104729)%10009)/10009+0.03 for i in range(800)]; r=stats.ks_2samp(A,B); print(repr(float(r.statistic)), repr(float(r.pvalue)))"
    const r = ks2samp(
      seq(800, (i) => ((i * 7919) % 10007) / 10007),
      seq(800, (i) => ((i * 104729) % 10009) / 10009 + 0.03),
    );
    expectRel(r.statistic, 0.03375, 1e-14);
    expectRel(r.pvalue, 0.7526873227356385, 1e-10);
  });

  it('asymptotic when a sample exceeds 10 000 (12 000 × 700)', () => {
    // python3 -c "from scipy import stats; A=[((i*7919)%10007)/10007 for i in range(12000)]; B=[((i*104729)%10009)/10009+0.02 for i in range(700)]; r=stats.ks_2samp(A,B); print(repr(float(r.statistic)), repr(float(r.pvalue)))"
    const r = ks2samp(
      seq(12000, (i) => ((i * 7919) % 10007) / 10007),
      seq(700, (i) => ((i * 104729) % 10009) / 10009 + 0.02),
    );
    expect(r.method).toBe('asymp');
    expectRel(r.statistic, 0.022988095238095196, 1e-12);
    expectRel(r.pvalue, 0.8677786303655185, 1e-9);
  });

  it('large exact case with an underflowing p-value (10 000 × 9 999, shift 0.35) is fast and 0', () => {
    // python3 -c "from scipy import stats; A=[((i*7919)%100003)/100003 for i in range(10000)]; B=[((i*7919)%100003)/100003+0.35 for i in range(9999)]; r=stats.ks_2samp(A,B); print(repr(float(r.statistic)), repr(float(r.pvalue)))"
    const t0 = performance.now();
    const r = ks2samp(
      seq(10000, (i) => ((i * 7919) % 100003) / 100003),
      seq(9999, (i) => ((i * 7919) % 100003) / 100003 + 0.35),
    );
    expect(performance.now() - t0).toBeLessThan(200);
    expectRel(r.statistic, 0.3503946194619462, 1e-12);
    expect(r.pvalue).toBe(0);
  });

  it('p-value is symmetric in the samples and monotone in d', () => {
    expect(ksPValue(0.3, 40, 60).pvalue).toBe(ksPValue(0.3, 60, 40).pvalue);
    expect(ksPValue(0.2, 40, 60).pvalue).toBeGreaterThan(ksPValue(0.3, 40, 60).pvalue);
  });

  it('rejects empty input', () => {
    expect(() => ks2samp([], [1, 2])).toThrow(DriftInputError);
    expect(() => ks2samp([1], [])).toThrow(DriftInputError);
  });
});

describe('one-sample KS distribution (scipy.stats.kstwo.sf), every branch', () => {
  // python3 -c "from scipy import stats; print(repr(float(stats.kstwo.sf(d, n))))"
  const points: [number, number, number, string][] = [
    [10, 0.07, 0.9999999619492741, 'Ruben–Gambino lower'],
    [10, 0.95, 1.9531250000000172e-13, 'Ruben–Gambino upper'],
    [100, 0.6, 5.912822156396238e-35, 'd ≥ 0.5: 2·smirnov'],
    [100, 0.05, 0.9532159710635725, 'Durbin matrix'],
    [100, 0.15, 0.019839242125643017, 'n ≤ 140, n·d² ≤ 4 (scipy Pomeranz, here Durbin)'],
    [100, 0.3, 1.7719869892662917e-8, 'n ≤ 140, large n·d²'],
    [1000, 0.01, 0.9999496745370611, 'Durbin matrix, large n'],
    [1000, 0.03, 0.3226902143914636, 'Pelz–Good'],
    [1000, 0.06, 0.001428597887952891, '2·smirnov'],
    [200000, 0.002, 0.39995085369038097, 'Pelz–Good, n > 100 000'],
  ];
  for (const [n, d, p, note] of points) {
    it(`n=${n} d=${d}: ${note}`, () => expectRel(kolmogorovSf(n, d), p, 1e-9));
  }
});

describe('binned KS', () => {
  it('equals the exact statistic when every distinct value has its own bin', () => {
    const a = [0.1, 0.4, 0.4, 0.7, 0.9, 1.3, 2.2];
    const b = [0.4, 0.5, 1.1, 1.8, 2.5, 2.6, 3.0, 3.1, 4.0];
    // edges just above each distinct value: the CDF at each boundary is the CDF at that value
    const distinct = [...new Set([...a, ...b])].sort((x, y) => x - y);
    const edges = distinct.map((v) => v + 1e-9);
    const r = ksFromBinnedCounts(edges, binCounts(edges, a), binCounts(edges, b));
    expectRel(r.statistic, 0.5555555555555556, 1e-14);
    expectRel(r.pvalue, 0.12674825174825174, 1e-12);
  });

  it('with 100 reference percentiles stays within 0.01 of the exact statistic', () => {
    const sorted = [...A].sort((x, y) => x - y);
    const edges = quantileEdges(sorted, 100);
    const r = ksFromBinnedCounts(edges, binCounts(edges, A), binCounts(edges, B));
    expect(Math.abs(r.statistic - 0.09266666666666666)).toBeLessThan(0.01);
  });

  it('rejects mismatched lengths', () => {
    expect(() => ksFromBinnedCounts([1, 2], [1, 2], [1, 2, 3])).toThrow(DriftInputError);
  });
});

describe('normalised Wasserstein-1', () => {
  it('analytic: a shift by c has distance |c|', () => {
    // python3 -c "import numpy as np; from scipy import stats; print(stats.wasserstein_distance([0,1,3],[5,6,8]), repr(float(np.std([0,1,3]))))"
    const r = wasserstein([0, 1, 3], [5, 6, 8]);
    expectRel(r.distance, 5, 1e-15);
    expectRel(r.referenceStd, 1.247219128924647, 1e-14);
    expectRel(r.normalized, 5 / 1.247219128924647, 1e-14);
  });

  it('matches scipy with ties and unequal sizes', () => {
    // python3 -c "import numpy as np; from scipy import stats; print(repr(stats.wasserstein_distance([0.1,0.4,0.4,0.7,0.9,1.3,2.2],[0.4,0.5,1.1,1.8,2.5,2.6,3.0,3.1,4.0])))"
    const r = wasserstein([0.1, 0.4, 0.4, 0.7, 0.9, 1.3, 2.2], [0.4, 0.5, 1.1, 1.8, 2.5, 2.6, 3.0, 3.1, 4.0]);
    expectRel(r.distance, 1.2539682539682542, 1e-13);
  });

  it('normalised on A vs B matches scipy / numpy std', () => {
    // python3 -c "import numpy as np; from scipy import stats; A=[((i*7919)%10007)/10007 for i in range(3000)]; B=[((i*104729)%10009)/10009*1.1 for i in range(2000)]; print(repr(stats.wasserstein_distance(A,B)/np.std(A)))"
    expectRel(wasserstein(A, B).normalized, 0.1734044708493039, 1e-11);
  });

  it('identical samples give 0; a constant reference divides by the 0.001 floor', () => {
    expect(wasserstein(A, A).distance).toBe(0);
    const r = wasserstein([2, 2, 2], [2, 2, 3]);
    expect(r.referenceStd).toBe(0);
    expectRel(r.distance, 1 / 3, 1e-15);
    expectRel(r.normalized, 1 / 3 / 0.001, 1e-12);
  });

  it('binned: uniform mass per bin shifted by one bin has distance exactly one bin width', () => {
    // uniform on [0,3] vs uniform on [1,4]: W1 = 1
    const r = wassersteinFromBinnedCounts([1, 2, 3], [5, 5, 5, 0], [0, 5, 5, 5], {
      referenceStd: Math.sqrt(0.75),
      lower: 0,
      upper: 4,
    });
    expectRel(r.distance, 1, 1e-14);
    expectRel(r.normalized, 1 / Math.sqrt(0.75), 1e-14);
  });

  it('binned: crossing CDFs are integrated piecewise', () => {
    // ref uniform on [0,2]; cur has all mass in [1,2) then nothing: F_ref − F_cur goes + then 0.
    // ref: F(x) = x/2 on [0,2]; cur: F = 0 on [0,1], x−1 on [1,2]. ∫|x/2| on [0,1] = 1/4; ∫ |x/2 − (x−1)| on [1,2] = ∫ (1 − x/2) = 1/4
    const r = wassersteinFromBinnedCounts([1], [1, 1], [0, 2], { referenceStd: 1, lower: 0, upper: 2 });
    expectRel(r.distance, 0.5, 1e-14);
  });

  it('binned with 100 percentiles is within 2% of exact on smooth data', () => {
    const sorted = [...A].sort((x, y) => x - y);
    const edges = quantileEdges(sorted, 100);
    const r = wassersteinFromBinnedCounts(edges, binCounts(edges, A), binCounts(edges, B), {
      referenceStd: wasserstein(A, B).referenceStd,
      lower: Math.min(...A, ...B),
      upper: Math.max(...A, ...B),
    });
    expect(Math.abs(r.normalized / 0.1734044708493039 - 1)).toBeLessThan(0.02);
  });

  it('rejects empty input', () => {
    expect(() => wasserstein([], [1])).toThrow(DriftInputError);
  });
});

describe('Jensen–Shannon distance, base 2', () => {
  it('hand-worked: p = (½, ½), q = (1, 0)', () => {
    // m = (¾, ¼); KL(p‖m) = ½log2(2/3) + ½log2(2); KL(q‖m) = log2(4/3); JS = sqrt of their mean
    // python3 -c "from scipy.spatial.distance import jensenshannon; print(repr(jensenshannon([1,1],[1,0],base=2)))"
    const hand = Math.sqrt((0.5 * Math.log2(2 / 3) + 0.5 + Math.log2(4 / 3)) / 2);
    expectRel(hand, 0.5579230452841438, 1e-12);
    expectRel(jensenShannon({ a: 1, b: 1 }, { a: 1 }), 0.5579230452841438, 1e-12);
  });

  it('matches scipy with a category only in current', () => {
    // python3 -c "from scipy.spatial.distance import jensenshannon; print(repr(jensenshannon([10,20,30,0],[15,15,30,5],base=2)))"
    expectRel(
      jensenShannon({ a: 10, b: 20, c: 30 }, { a: 15, b: 15, c: 30, new: 5 }),
      0.22254295203040467,
      1e-12,
    );
  });

  it('is 0 for identical shares and 1 for disjoint categories', () => {
    expect(jensenShannon({ a: 1, b: 3 }, { a: 10, b: 30 })).toBe(0);
    expectRel(jensenShannon({ a: 5 }, { b: 7 }), 1, 1e-15);
  });

  it('rejects an empty side', () => {
    expect(() => jensenShannon({}, { a: 1 })).toThrow(DriftInputError);
  });
});

describe('chi-square test of independence (scipy.stats.chi2_contingency, correction=False)', () => {
  // python3 -c "from scipy import stats; c=stats.chi2_contingency(t, correction=False); print(repr(c.statistic), c.dof, repr(c.pvalue))"
  const cases: [number[], number[], number, number, number][] = [
    [[10, 20, 30], [15, 15, 30], 1.7142857142857144, 2, 0.42437284567695],
    [[10, 0], [0, 10], 20, 1, 7.744216431044088e-6],
    [[30, 20, 0], [25, 20, 5], 5.454545454545454, 2, 0.06539740322986021],
  ];
  for (const [r, c, stat, dof, p] of cases) {
    it(`[${r}] vs [${c}]`, () => {
      const res = chiSquareFromCounts(r, c);
      expectRel(res.statistic, stat, 1e-13);
      expect(res.dof).toBe(dof);
      expectRel(res.pvalue, p, 1e-10);
    });
  }

  it('hand-worked 2×2 [[10,0],[0,10]]: every expected count 5, statistic 4·25/5 = 20; p = erfc(√10)', () => {
    // dof 1: P(χ²₁ > 20) = erfc(sqrt(10)) = 7.744216431044088e-06
    expectRel(chiSquareFromCounts([10, 0], [0, 10]).statistic, 20, 1e-15);
  });

  it('thousands of categories (3000)', () => {
    // python3 -c "from scipy import stats; from scipy.spatial.distance import jensenshannon; k=3000; ref=[1+(i*37)%11 for i in range(k)]; cur=[1+(i*53)%13 for i in range(k)]; c=stats.chi2_contingency([ref,cur],correction=False); print(repr(c.statistic), c.dof, repr(c.pvalue), repr(jensenshannon(ref,cur,base=2)))"
    const ref = new Map<string, number>();
    const cur = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      ref.set(`c${i}`, 1 + ((i * 37) % 11));
      cur.set(`c${i}`, 1 + ((i * 53) % 13));
    }
    const res = chiSquare(ref, cur);
    expectRel(res.statistic, 5859.732833688089, 1e-12);
    expect(res.dof).toBe(2999);
    expectRel(res.pvalue, 1.0942677489260437e-187, 1e-8);
    expectRel(jensenShannon(ref, cur), 0.34367216426043873, 1e-12);
  });

  it('one category: dof 0, p = 1 (as scipy); identical tables: statistic 0, p = 1', () => {
    expect(chiSquare({ a: 5 }, { a: 9 })).toEqual({ statistic: 0, dof: 0, pvalue: 1 });
    const same = chiSquare({ a: 5, b: 10 }, { a: 5, b: 10 });
    expect(same.statistic).toBe(0);
    expect(same.pvalue).toBe(1);
  });

  it('a category only in current is a column with reference count 0', () => {
    expect(alignCategories({ a: 1, b: 2 }, { b: 3, z: 4 })).toEqual({
      categories: ['a', 'b', 'z'],
      reference: [1, 2, 0],
      current: [0, 3, 4],
    });
  });
});

describe('regularised upper incomplete gamma (scipy.special.gammaincc)', () => {
  // python3 -c "from scipy import special; print(repr(special.gammaincc(a, x)))"
  const pts: [number, number, number][] = [
    [0.5, 0.3, 0.4385780260809997],
    [1, 2, 0.1353352832366127],
    [5, 20, 1.694474393006737e-5],
    [1500, 1400, 0.9957689196514828],
    [1500, 1700, 3.5368342970516867e-7],
    [2.5, 60, 3.1385797727553017e-24],
  ];
  for (const [a, x, q] of pts) it(`Q(${a}, ${x})`, () => expectRel(regularizedGammaQ(a, x), q, 1e-10));

  it('analytic: Q(1, x) = e^{−x}', () => {
    for (const x of [0.01, 0.5, 3, 40]) expectRel(regularizedGammaQ(1, x), Math.exp(-x), 1e-13);
  });
});

describe('mean-shift z-score', () => {
  it('hand-worked: shift 1 with reference std 2 and 16 current values is z = 1 / (2/4) = 2', () => {
    expect(meanShiftZ({ mean: 0, std: 2 }, { mean: 1, count: 16 })).toBe(2);
  });

  it('from samples: ref [1,3] (mean 2, std 1), cur [4,4,4,4] → (4−2)/(1/2) = 4', () => {
    expect(meanShiftZFromSamples([1, 3], [4, 4, 4, 4])).toBe(4);
  });

  it('constant reference: 0 when unchanged, ±Infinity otherwise; empty current throws', () => {
    expect(meanShiftZ({ mean: 3, std: 0 }, { mean: 3, count: 5 })).toBe(0);
    expect(meanShiftZ({ mean: 3, std: 0 }, { mean: 2, count: 5 })).toBe(-Infinity);
    expect(() => meanShiftZ({ mean: 3, std: 1 }, { mean: 2, count: 0 })).toThrow(DriftInputError);
  });
});

describe('decision rule (DESIGN.md defaults)', () => {
  it('chooses distances only when both sides exceed 1000 values', () => {
    expect(defaultMethod('numeric', 1001, 1001)).toBe('wasserstein');
    expect(defaultMethod('numeric', 1000, 5000)).toBe('ks');
    expect(defaultMethod('categorical', 2000, 1001)).toBe('js');
    expect(defaultMethod('categorical', 2000, 1000)).toBe('chi2');
  });

  it('distance methods drift at ≥ threshold, p-value methods below it, with severities', () => {
    const big = { reference: 5000, current: 5000 };
    const small = { reference: 50, current: 50 };
    expect(decideDrift('numeric', { wasserstein: 0.0999 }, big)).toMatchObject({
      method: 'wasserstein',
      threshold: 0.1,
      detected: false,
      severity: 'none',
    });
    expect(decideDrift('numeric', { wasserstein: 0.1 }, big)).toMatchObject({
      detected: true,
      severity: 'low',
    });
    expect(decideDrift('numeric', { wasserstein: 0.25 }, big).severity).toBe('medium');
    expect(decideDrift('numeric', { wasserstein: 0.4 }, big).severity).toBe('high');
    expect(decideDrift('numeric', { ks_pvalue: 0.05 }, small)).toMatchObject({
      method: 'ks',
      detected: false,
    });
    expect(decideDrift('numeric', { ks_pvalue: 0.049 }, small).severity).toBe('low');
    expect(decideDrift('numeric', { ks_pvalue: 0.004 }, small).severity).toBe('medium');
    expect(decideDrift('categorical', { chi2_pvalue: 1e-6 }, small)).toMatchObject({
      method: 'chi2',
      detected: true,
      severity: 'high',
    });
    expect(decideDrift('categorical', { js: 0.12 }, big)).toMatchObject({ method: 'js', detected: true });
  });

  it('is configurable per feature and rejects methods that do not apply', () => {
    const d = decideDrift(
      'numeric',
      { psi: 0.15 },
      { reference: 10, current: 10 },
      { method: 'psi', threshold: 0.2 },
    );
    expect(d).toMatchObject({ method: 'psi', score: 0.15, threshold: 0.2, detected: false });
    expect(() =>
      decideDrift('categorical', { js: 0.1 }, { reference: 1, current: 1 }, { method: 'ks' }),
    ).toThrow(DriftInputError);
    expect(() => decideDrift('numeric', {}, { reference: 5000, current: 5000 })).toThrow(DriftInputError);
  });
});

describe('feature-level helpers', () => {
  it('numericDrift on A vs B gives the scipy figures and decides by Wasserstein', () => {
    const { stats, decision } = numericDrift(A, B);
    expectRel(stats.ks_pvalue, 2.0919567241024512e-9, 1e-9);
    expectRel(stats.wasserstein, 0.1734044708493039, 1e-11);
    expectRel(stats.psi, 0.055842662497659526, 1e-12);
    expect(decision).toMatchObject({ method: 'wasserstein', detected: true, severity: 'low' });
  });

  it('numericDrift: disjoint small samples drift by KS', () => {
    const { decision } = numericDrift([1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]);
    expect(decision.method).toBe('ks');
    expectRel(decision.score, 0.004329004329004329, 1e-12);
    expect(decision.detected).toBe(true);
  });

  it('categoricalDrift: an unchanged distribution does not drift', () => {
    const { stats, decision } = categoricalDrift({ a: 10, b: 20, c: 30 }, { a: 15, b: 15, c: 30 });
    expectRel(stats.chi2_pvalue, 0.42437284567695, 1e-10);
    expect(decision).toMatchObject({ method: 'chi2', detected: false, severity: 'none' });
  });
});
