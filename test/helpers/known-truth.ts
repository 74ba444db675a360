/**
 * Classification data whose truth is known, for the CBPE benchmark (bench/estimation.bench.ts) and
 * tests (test/performance/estimation-known-truth.test.ts).
 *
 * Classes k = 0 … K−1 have Gaussian features x | y = k ~ N(μ_k, I) in two dimensions and reference
 * priors π. Then P(y = k | x) is exactly a softmax of linear logits μ_k·x − |μ_k|²/2 + log π_k, so
 * the model that outputs it is a well-specified (multinomial) logistic regression at its population
 * optimum: its scores are true probabilities on the reference. The cases:
 *
 * - `covariate`: x is drawn from the reference mixture and moved by m_t (growing linearly over the
 *   analysis windows up to `shift`), y from the reference P(y | x): only P(x) moves.
 * - `prior`: y is drawn with priors moving linearly from π to `priorTo`, x | y as on the reference:
 *   P(x | y) stays, so P(y | x) moves by a constant in logit (a prior shift).
 * - `concept`: as the reference until window `changeAt`, then y is drawn from the posterior of
 *   means rotated by 90°: P(y | x) changes at a known window.
 *
 * `temperature` < 1 makes the model over-confident (logits divided by it), so its scores are not
 * probabilities and calibration has something to fix.
 */
import { seededRandom } from './random.js';

export type ShiftCase = 'covariate' | 'prior' | 'concept';

export interface KnownTruthOptions {
  case: ShiftCase;
  classes: 2 | 3;
  rowsPerWindow: number;
  referenceWindows: number;
  analysisWindows: number;
  seed?: number;
  /** covariate: the largest move of the features (default 1 in each dimension) */
  shift?: number;
  /** prior: the analysis priors at the last window (default: the first class's prior +0.3) */
  priorTo?: number[];
  /** concept: first analysis window (0-based, counting the analysis windows) after the change */
  changeAt?: number;
  /** logits of the model divided by this (default 1: calibrated) */
  temperature?: number;
}

export interface KnownTruthRow {
  /** window index, reference first (0 … referenceWindows − 1) */
  window: number;
  features: readonly number[];
  /** the actual class */
  actual: string;
  /** model: P(class k | x) as the model outputs it */
  probabilities: number[];
  /** model: argmax of its probabilities */
  predicted: string;
}

const MEANS: Record<2 | 3, Array<[number, number]>> = {
  2: [
    [-1, -0.5],
    [1, 0.5],
  ],
  3: [
    [-1.2, -0.4],
    [1.2, -0.4],
    [0, 1.1],
  ],
};
const PRIORS: Record<2 | 3, number[]> = { 2: [0.6, 0.4], 3: [0.5, 0.3, 0.2] };

function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

function posterior(
  x: readonly [number, number],
  means: ReadonlyArray<[number, number]>,
  priors: readonly number[],
  t = 1,
): number[] {
  return softmax(
    means.map(
      (m, k) =>
        (m[0] * x[0] + m[1] * x[1] - (m[0] * m[0] + m[1] * m[1]) / 2 + Math.log(priors[k] as number)) / t,
    ),
  );
}

function draw(random: () => number, weights: readonly number[]): number {
  let u = random();
  for (let k = 0; k < weights.length; k++) {
    u -= weights[k] as number;
    if (u < 0) return k;
  }
  return weights.length - 1;
}

/** The reference windows followed by the analysis windows, `rowsPerWindow` rows each. */
export function knownTruthRows(o: KnownTruthOptions): KnownTruthRow[] {
  const random = seededRandom(o.seed ?? 20);
  const gauss = (): number => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const means = MEANS[o.classes];
  const priors = PRIORS[o.classes];
  const rotated = means.map(([a, b]) => [-b, a] as [number, number]);
  const priorTo = o.priorTo ?? priors.map((p, k) => (k === 0 ? p + 0.3 : p - 0.3 / (priors.length - 1)));
  const t = o.temperature ?? 1;
  const rows: KnownTruthRow[] = [];
  const windows = o.referenceWindows + o.analysisWindows;
  for (let w = 0; w < windows; w++) {
    const a = w - o.referenceWindows; // analysis window index, negative on the reference
    const progress = a < 0 ? 0 : (a + 1) / o.analysisWindows;
    for (let i = 0; i < o.rowsPerWindow; i++) {
      let x: [number, number];
      let y: number;
      if (o.case === 'prior') {
        const pi = priors.map((p, k) => p + progress * ((priorTo[k] as number) - p));
        y = draw(random, pi);
        const m = means[y] as [number, number];
        x = [m[0] + gauss(), m[1] + gauss()];
      } else {
        const k = draw(random, priors);
        const m = means[k] as [number, number];
        const move = o.case === 'covariate' ? progress * (o.shift ?? 1) : 0;
        x = [m[0] + gauss() + move, m[1] + gauss() - move];
        const changed = o.case === 'concept' && a >= (o.changeAt ?? 0);
        y = draw(random, posterior(x, changed ? rotated : means, priors));
      }
      const probabilities = posterior(x, means, priors, t);
      let best = 0;
      for (let k = 1; k < probabilities.length; k++)
        if ((probabilities[k] as number) > (probabilities[best] as number)) best = k;
      rows.push({ window: w, features: x, actual: String(y), probabilities, predicted: String(best) });
    }
  }
  return rows;
}
