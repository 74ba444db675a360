/**
 * Distribution functions needed by the version comparison tests.
 *
 * What simple-statistics (a settled dependency) offers and what we use of it:
 * - `errorFunction`: the classic erfc approximation with |error| < 1.2e-7; we build the normal CDF
 *   and two-sided normal p-values on it. Its `cumulativeStdNormalProbability` is a 4-digit lookup
 *   table (steps of 0.01 in z), too coarse for p-values, so we do not use it.
 * - `gammaln` (Lanczos, ~1e-15 relative): used for the beta function prefactor below.
 * - `probit` / `inverseErrorFunction`: only ~3 significant digits (probit(0.975) = 1.9572 instead
 *   of 1.95996), too coarse for confidence intervals, so the normal quantile is written here.
 * - Nothing for Student's t (its `tTestTwoSample` returns only the statistic, for equal variances),
 *   hence the regularized incomplete beta function, the t CDF and the t quantile below.
 */
import { errorFunction, gammaln } from 'simple-statistics';

/** Standard normal CDF Φ(z), accurate to about 1e-7 (simple-statistics' erf). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}

/** Two-sided p-value 2·(1 − Φ(|z|)) of a standard normal statistic. */
export function normalTwoSidedPValue(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (!Number.isFinite(z)) return 0;
  return Math.min(1, Math.max(0, 1 - errorFunction(Math.abs(z) / Math.SQRT2)));
}

// Rational approximations of the normal quantile by P. J. Acklam (relative error < 1.15e-9),
// central region |p − 0.5| <= 0.47575 and the two tails.
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

function poly(coefficients: readonly number[], x: number): number {
  let r = 0;
  for (const c of coefficients) r = r * x + c;
  return r;
}

/** Standard normal quantile Φ⁻¹(p) (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`normalQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(C, q) / (poly(D, q) * q + 1);
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log1p(-p));
    return -poly(C, q) / (poly(D, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(A, r) * q) / (poly(B, r) * r + 1);
}

const TINY = 1e-300;
const CF_EPS = 1e-15;
const CF_MAX_ITERATIONS = 100_000;

/**
 * Continued fraction of the incomplete beta function, evaluated with the modified Lentz method:
 * I_x(a,b) = prefactor · 1/(1+ d1/(1+ d2/(1+ …))) / a, with
 * d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)).
 * It converges fast for x < (a+1)/(a+b+2); the caller uses the symmetry I_x(a,b) = 1 − I_{1−x}(b,a)
 * otherwise. Iterations grow like √max(a,b), so Welch degrees of freedom in the millions still work.
 */
function betaContinuedFraction(x: number, a: number, b: number): number {
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= CF_MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    // even step
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    f *= d * c;
    // odd step
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < CF_EPS) return f;
  }
  throw new Error(`incomplete beta: continued fraction did not converge (x=${x}, a=${a}, b=${b})`);
}

/**
 * Regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1].
 * `oneMinusX` may be passed when 1 − x is known more accurately than by subtraction (the t
 * distribution computes both from df and t² without cancellation).
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number, oneMinusX = 1 - x): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`incomplete beta: a and b must be > 0 (a=${a}, b=${b})`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`incomplete beta: x must be in [0, 1], got ${x}`);
  if (x === 0) return 0;
  if (oneMinusX === 0) return 1;
  const logPrefactor = gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log(oneMinusX);
  const prefactor = Math.exp(logPrefactor);
  if (x < (a + 1) / (a + b + 2)) return (prefactor * betaContinuedFraction(x, a, b)) / a;
  return 1 - (prefactor * betaContinuedFraction(oneMinusX, b, a)) / b;
}

/** Two-sided p-value P(|T| ≥ |t|) of Student's t with `df` (> 0, not necessarily integer) degrees of freedom. */
export function studentTTwoSidedPValue(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  // P(|T| >= |t|) = I_{df/(df+t²)}(df/2, 1/2); 1 − x = t²/(df+t²) is computed directly.
  return regularizedIncompleteBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
}

/** Student's t CDF P(T ≤ t). */
export function studentTCdf(t: number, df: number): number {
  const tail = studentTTwoSidedPValue(t, df) / 2;
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Student's t quantile, by bisection on the CDF (monotone, so bisection cannot fail; 200 halvings
 * reach the limit of double precision from any bracket we start with).
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`studentTQuantile: p must be in [0, 1], got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
