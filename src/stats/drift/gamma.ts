import { gammaln } from 'simple-statistics';

/**
 * Regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x ≥ 0.
 *
 * Why it is here: the chi-square p-value is Q(dof/2, stat/2), and `simple-statistics` (our
 * statistics dependency) has ln Γ (`gammaln`, used below) and a chi-square critical-value table,
 * but no incomplete gamma function and no chi-square CDF.
 *
 * Method: the power series for P(a, x) when x < a + 1 (then Q = 1 − P; Q is not small there, so
 * the subtraction loses nothing), otherwise the continued fraction for Q evaluated by the modified
 * Lentz algorithm, which keeps full relative precision for tiny p-values. Both converge in
 * O(√a) terms near x ≈ a, so thousands of categories (large dof) are fine.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  const logPrefix = a * Math.log(x) - x - gammaln(a);
  if (x < a + 1) return 1 - seriesP(a, x, logPrefix);
  return continuedFractionQ(a, x, logPrefix);
}

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITER = 100000;

function seriesP(a: number, x: number, logPrefix: number): number {
  // P(a, x) = x^a e^{−x} / Γ(a) · Σ_{k≥0} x^k / (a (a+1) … (a+k))
  let term = 1 / a;
  let sum = term;
  for (let k = 1; k < MAX_ITER; k++) {
    term *= x / (a + k);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return Math.min(1, sum * Math.exp(logPrefix));
}

function continuedFractionQ(a: number, x: number, logPrefix: number): number {
  // Q(a, x) = x^a e^{−x} / Γ(a) · 1/(x + 1 − a − 1·(1 − a)/(x + 3 − a − 2·(2 − a)/(x + 5 − a − …)))
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let f = d;
  for (let k = 1; k < MAX_ITER; k++) {
    const an = -k * (k - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logPrefix) * f;
}

/** Survival function of the chi-square distribution with `dof` degrees of freedom. */
export function chiSquareSf(stat: number, dof: number): number {
  if (dof <= 0) return Number.NaN;
  if (stat <= 0) return 1;
  return regularizedGammaQ(dof / 2, stat / 2);
}
