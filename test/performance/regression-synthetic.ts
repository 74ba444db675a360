/**
 * Synthetic regression data whose truth is known, for the direct loss estimation tests and the
 * benchmark (bench/estimation-regression.bench.ts).
 *
 * y = f(x) + σ(x₁)·z with f(x) = 2x₁ + x₂ + 1, σ(x₁) = 0.5 + 0.5·|x₁| (heteroscedastic: the error
 * depends on where x₁ is), z ~ N(0, 1), x₂ ~ N(0, 1) always. The monitored model predicts ŷ = f(x),
 * the true conditional mean (well specified), so its error is ŷ − y = −σ(x₁)·z.
 *
 * - Reference: x₁ ~ N(0, 1).
 * - Covariate shift: window w of `windows` has x₁ ~ N(μ_w, 1) with μ_w = maxShift · w / (windows − 1);
 *   P(y | x) unchanged. Expected MAE of a window = E|σ(x₁) z| = √(2/π) · (0.5 + 0.5 · E|x₁|) and
 *   expected MSE = E σ² = 0.25 + 0.5 E|x₁| + 0.25 (1 + μ²), with E|x₁| = μ(1 − 2Φ(−μ)) + 2φ(μ) for
 *   x₁ ~ N(μ, 1) (the folded normal's mean).
 * - Concept drift: x₁ ~ N(0, 1) as in the reference, but from window `changeAt` on y = f'(x) + σ z
 *   with f'(x) = f(x) + slopeChange · x₁: the model's error becomes −slopeChange·x₁ − σ z, larger,
 *   while the inputs look exactly like the reference.
 */
import { normal, seededRandom } from './fixtures.js';

export interface RegressionRow {
  x1: number;
  x2: number;
  predicted: number;
  actual: number;
}

export const sigmaOf = (x1: number): number => 0.5 + 0.5 * Math.abs(x1);
export const fOf = (x1: number, x2: number): number => 2 * x1 + x2 + 1;

/** Rows with x₁ ~ N(mu, 1); `slopeChange` adds slopeChange·x₁ to the truth (concept drift). */
export function regressionRows(n: number, seed: number, mu = 0, slopeChange = 0): RegressionRow[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const x1 = mu + normal(random);
    const x2 = normal(random);
    const predicted = fOf(x1, x2);
    const actual = predicted + slopeChange * x1 + sigmaOf(x1) * normal(random);
    return { x1, x2, predicted, actual };
  });
}

const phi = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp((-x * x) / 2);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** E|x| for x ~ N(mu, 1). */
export const foldedNormalMean = (mu: number): number => mu * (1 - 2 * normalCdf(-mu)) + 2 * phi(mu);

/** The expected MAE and RMSE of the well-specified model under covariate shift to N(mu, 1). */
export function expectedLoss(mu: number): { mae: number; rmse: number } {
  const ea = foldedNormalMean(mu);
  return {
    mae: Math.sqrt(2 / Math.PI) * (0.5 + 0.5 * ea),
    rmse: Math.sqrt(0.25 + 0.5 * ea + 0.25 * (1 + mu * mu)),
  };
}

/** Inputs as the loss model sees them: [features.x1, features.x2, prediction.value]. */
export const LOSS_INPUTS = ['features.x1', 'features.x2', 'prediction.value'];
export const lossRow = (r: RegressionRow): number[] => [r.x1, r.x2, r.predicted];
export const errorOf = (r: RegressionRow): number => r.predicted - r.actual;
