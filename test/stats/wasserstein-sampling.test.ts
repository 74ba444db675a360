/**
 * The error stated for a sampled window's Wasserstein distance: J1/√n with J1 = ∫ √(F(1 − F)) dx
 * over the binned CDF (Bobkov–Ledoux). Checked against closed forms, scipy, and a Monte Carlo
 * estimate of the expected distance between a sample and its population.
 */
import { describe, expect, it } from 'vitest';
import { wasserstein1Sorted, wassersteinSamplingError } from '../../src/stats/drift/index.js';
import { seededRandom } from '../helpers/random.js';
import { normal } from '../helpers/predictions.js';

describe('wassersteinSamplingError', () => {
  it('one uniform bin on [0, 1]: ∫₀¹ √(u(1 − u)) du = π/8', () => {
    expect(wassersteinSamplingError([], [100], 0, 1)).toBeCloseTo(Math.PI / 8 / 10, 14);
    // the same bin cut in two halves of equal mass: the same linear CDF, the same integral
    expect(wassersteinSamplingError([0.5], [50, 50], 0, 1)).toBeCloseTo(Math.PI / 8 / 10, 14);
    // width scales it; n is the sample size, not the counts, when given
    expect(wassersteinSamplingError([], [7], 2, 6, 400)).toBeCloseTo((4 * Math.PI) / 8 / 20, 14);
  });

  it('standard normal over 100 quantile bins closed at ±4.5: 1.7797828555699664 / √n (numpy, same bins)', () => {
    // python: e = norm.ppf(arange(1, 100) / 100); knots = [-4.5, *e, 4.5]; F linear per bin;
    // sum(width · (G(F1) − G(F0)) / (F1 − F0)) with G(u) = (2u − 1)√(u(1 − u))/4 + asin(2u − 1)/8
    const edges = [
      -2.3263478740408408, -2.053748910631823, -1.880793608151251, -1.75068607125217, -1.6448536269514729,
      -1.5547735945968535, -1.4757910281791706, -1.4050715603096329, -1.3407550336902165, -1.2815515655446004,
      -1.2265281200366098, -1.1749867920660904, -1.1263911290388007, -1.0803193408149558, -1.0364333894937898,
      -0.994457883209753, -0.9541652531461943, -0.915365087842814, -0.8778962950512288, -0.8416212335729142,
      -0.8064212470182404, -0.7721932141886848, -0.7388468491852137, -0.7063025628400874, -0.6744897501960817,
      -0.643345405392917, -0.6128129910166272, -0.5828415072712162, -0.5533847195556729, -0.5244005127080409,
      -0.4958503473474533, -0.46769879911450823, -0.4399131656732338, -0.41246312944140473,
      -0.38532046640756773, -0.3584587932511938, -0.33185334643681663, -0.3054807880993974,
      -0.27931903444745415, -0.2533471031357997, -0.22754497664114948, -0.20189347914185088,
      -0.17637416478086135, -0.15096921549677725, -0.12566134685507402, -0.10043372051146975,
      -0.0752698620998299, -0.05015358346473367, -0.02506890825871106, 0.0, 0.02506890825871106,
      0.05015358346473367, 0.0752698620998299, 0.10043372051146988, 0.12566134685507416, 0.1509692154967774,
      0.1763741647808612, 0.20189347914185074, 0.22754497664114934, 0.2533471031357997, 0.27931903444745415,
      0.3054807880993974, 0.33185334643681663, 0.3584587932511938, 0.38532046640756773, 0.41246312944140495,
      0.4399131656732339, 0.4676987991145084, 0.4958503473474532, 0.5244005127080407, 0.5533847195556727,
      0.5828415072712162, 0.6128129910166272, 0.643345405392917, 0.6744897501960817, 0.7063025628400874,
      0.7388468491852137, 0.7721932141886848, 0.8064212470182404, 0.8416212335729143, 0.8778962950512289,
      0.9153650878428138, 0.9541652531461943, 0.994457883209753, 1.0364333894937898, 1.0803193408149558,
      1.1263911290388007, 1.1749867920660904, 1.2265281200366105, 1.2815515655446004, 1.3407550336902165,
      1.4050715603096329, 1.475791028179171, 1.5547735945968535, 1.6448536269514722, 1.7506860712521692,
      1.8807936081512509, 2.0537489106318225, 2.3263478740408408,
    ];
    const counts = new Array<number>(100).fill(40);
    expect(wassersteinSamplingError(edges, counts, -4.5, 4.5)).toBeCloseTo(
      1.7797828555699664 / Math.sqrt(4000),
      6,
    );
  });

  it('is above the Monte Carlo mean of W1(sample, population), by about the asymptotic factor √(π/2)', () => {
    // Population: 200,000 normal draws; 200 samples of 1,000 drawn from it. Asymptotically
    // √n·E W1 → √(2/π)·J1 = 0.80·J1; with the true J1 of N(0, 1) (1.6147, scipy quad) that is
    // 1.2884/√n, and the bound computed from the population's own 100 bins is ~10 % higher still.
    const rand = seededRandom(7);
    const population = Float64Array.from({ length: 200_000 }, () => normal(rand)).sort();
    const n = 1000;
    let sum = 0;
    for (let s = 0; s < 200; s++) {
      const sample = Float64Array.from(
        { length: n },
        () => population[Math.floor(rand() * population.length)] as number,
      ).sort();
      sum += wasserstein1Sorted(sample, population);
    }
    const meanW = sum / 200;
    const edges = Array.from(
      { length: 99 },
      (_, k) => population[Math.floor(((k + 1) * population.length) / 100)] as number,
    );
    const counts = new Array<number>(100).fill(0);
    let b = 0;
    for (const x of population) {
      while (b < 99 && x >= (edges[b] as number)) b++;
      counts[b] = (counts[b] as number) + 1;
    }
    const bound = wassersteinSamplingError(
      edges,
      counts,
      population[0] as number,
      population[population.length - 1] as number,
      n,
    );
    expect(meanW).toBeGreaterThan(0.95 * (1.2884 / Math.sqrt(n)));
    expect(meanW).toBeLessThan(1.05 * (1.2884 / Math.sqrt(n)));
    expect(meanW).toBeLessThan(bound);
    expect(meanW).toBeGreaterThan(0.6 * bound);
  });

  it('rejects mismatched, unsorted, negative or empty input', () => {
    expect(() => wassersteinSamplingError([1], [1], 0, 2)).toThrow(/1 edges need 2 counts per side/);
    expect(() => wassersteinSamplingError([2, 1], [1, 1, 1], 0, 3)).toThrow(/edges not sorted/);
    expect(() => wassersteinSamplingError([1], [1, -1], 0, 2)).toThrow(/invalid count -1/);
    expect(() => wassersteinSamplingError([1], [0, 0], 0, 2)).toThrow(/empty/);
  });
});
