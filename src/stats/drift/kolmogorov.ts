/**
 * Survival function of the one-sample two-sided Kolmogorov–Smirnov statistic D_n for a finite n,
 * P(D_n ≥ d). scipy's `ks_2samp` uses it (as `kstwo.sf(d, round(n1 n2 / (n1 + n2)))`) for its
 * asymptotic two-sample p-value, so mlmon needs the same function to give the same p-values.
 *
 * The choice of method by region follows Simard & L'Ecuyer, "Computing the Two-Sided
 * Kolmogorov–Smirnov Distribution", J. Stat. Software 39(11), 2011, with the same switch points
 * scipy uses:
 * - n·d ≤ 1 and n·d ≥ n − 1: Ruben–Gambino closed forms;
 * - d ≥ 0.5, or n·d² large: twice the exact one-sided (Smirnov / Birnbaum–Tingey) tail, exact
 *   for d ≥ 0.5 and within rounding of the two-sided tail when n·d² ≥ 2.2;
 * - otherwise the CDF from Durbin's matrix (as evaluated by Marsaglia, Tsang & Wang 2003) when it
 *   is cheap, else the Pelz–Good asymptotic series.
 * One deliberate difference from scipy: for n ≤ 140 and 0.754693 < n·d² ≤ 4 scipy uses Pomeranz's
 * recursion; both it and Durbin's matrix are exact, so we use the matrix there too.
 */
import { gammaln } from 'simple-statistics';

export function kolmogorovSf(n: number, d: number): number {
  if (!Number.isInteger(n) || n <= 0) return Number.NaN;
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    // P(D_n < d) = n!/n^n (2t − 1)^n
    const cdf = Math.exp(gammaln(n + 1) - n * Math.log(n) + n * Math.log(2 * t - 1));
    return clip(1 - cdf);
  }
  if (t >= n - 1) return clip(2 * Math.pow(1 - d, n));
  if (d >= 0.5) return clip(2 * smirnovSf(n, d));
  const nd2 = t * d;
  if (n <= 140) {
    if (nd2 <= 4) return clip(1 - durbinCdf(n, d));
    return clip(2 * smirnovSf(n, d));
  }
  if (nd2 >= 370) return 0;
  if (nd2 >= 2.2) return clip(2 * smirnovSf(n, d));
  const cdf = n <= 100000 && n * Math.pow(d, 1.5) <= 1.4 ? durbinCdf(n, d) : pelzGoodCdf(n, d);
  return clip(1 - cdf);
}

/**
 * Exact one-sided tail P(D_n⁺ ≥ d) by the Birnbaum–Tingey sum
 * d Σ_{j=0}^{⌊n(1−d)⌋} C(n, j) (1 − d − j/n)^{n−j} (d + j/n)^{j−1},
 * every term evaluated in log space (all terms are positive, so no cancellation). Terms rise then
 * fall; we stop once they are negligible past the peak.
 */
export function smirnovSf(n: number, d: number): number {
  if (d <= 0) return 1;
  if (d >= 1) return 0;
  const jmax = Math.floor(n * (1 - d) + 1e-12);
  const lgn1 = gammaln(n + 1);
  let sum = 0;
  let peak = -Infinity;
  for (let j = 0; j <= jmax; j++) {
    const a = 1 - d - j / n;
    const b = d + j / n;
    // (1 − d − j/n)^(n−j): when a is 0 the power is 0 unless n − j is 0.
    let logTerm = lgn1 - gammaln(j + 1) - gammaln(n - j + 1) + (j - 1) * Math.log(b);
    if (n - j > 0) {
      if (a <= 0) continue;
      logTerm += (n - j) * Math.log(a);
    }
    const term = Math.exp(logTerm);
    sum += term;
    if (logTerm > peak) peak = logTerm;
    else if (logTerm < peak - 50) break;
  }
  return clip(d * sum);
}

/**
 * P(D_n < d) from Durbin's matrix: with k = ⌊n d⌋ + 1, m = 2k − 1 and h = k − n d, the answer is
 * n!/n^n times the central element of H^n, where H is the m×m matrix with 1/(i−j+1)! on and below
 * the superdiagonal, corrected in the first column and last row by powers of h. Powers by squaring,
 * with a separate decimal exponent so that nothing overflows.
 */
export function durbinCdf(n: number, d: number): number {
  const k = Math.floor(n * d) + 1;
  const m = 2 * k - 1;
  const h = k - n * d;
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) H[i * m + j] = i - j + 1 >= 0 ? 1 : 0;
  for (let i = 0; i < m; i++) {
    H[i * m] = (H[i * m] as number) - Math.pow(h, i + 1);
    H[(m - 1) * m + i] = (H[(m - 1) * m + i] as number) - Math.pow(h, m - i);
  }
  if (2 * h - 1 > 0) H[(m - 1) * m] = (H[(m - 1) * m] as number) + Math.pow(2 * h - 1, m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const f = i - j + 1;
      if (f > 0) {
        let v = H[i * m + j] as number;
        for (let g = 2; g <= f; g++) v /= g;
        H[i * m + j] = v;
      }
    }
  }
  const { matrix, exp10 } = matrixPower(H, m, n);
  let s = matrix[(k - 1) * m + (k - 1)] as number;
  let e = exp10;
  for (let i = 1; i <= n; i++) {
    s = (s * i) / n;
    if (s < 1e-140) {
      s *= 1e140;
      e -= 140;
    }
  }
  return s * Math.pow(10, e);
}

function matrixMultiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const c = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l] as number;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++) c[i * m + j] = (c[i * m + j] as number) + ail * (b[l * m + j] as number);
    }
  }
  return c;
}

function matrixPower(a: Float64Array, m: number, n: number): { matrix: Float64Array; exp10: number } {
  if (n === 1) return { matrix: a, exp10: 0 };
  const half = matrixPower(a, m, Math.floor(n / 2));
  let result = matrixMultiply(half.matrix, half.matrix, m);
  let e = 2 * half.exp10;
  if (n % 2 === 1) result = matrixMultiply(a, result, m);
  const centre = Math.floor(m / 2);
  if ((result[centre * m + centre] as number) > 1e140) {
    for (let i = 0; i < m * m; i++) result[i] = (result[i] as number) * 1e-140;
    e += 140;
  }
  return { matrix: result, exp10: e };
}

/**
 * Pelz–Good (1976) asymptotic expansion of P(D_n ≤ d) in powers of 1/√n, with z = d √n:
 * K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^{3/2}, each a theta-type series that converges fast for the
 * moderate z where it is used (n·d² < 2.2). With α_k = π²(k − ½)² and E_k = exp(−α_k / 2z²):
 * K0 = √(2π)/z ΣE_k; K1 = √(π/2)/(3z⁴) Σ(α_k − z²)E_k;
 * K2 = √(π/2)/(36z⁷) Σ(6z⁶ + 2z⁴ + α_k(2z⁴ − 5z²) + α_k²(1 − 2z²))E_k − √(π/2)/(18z³) Σ π²k² e^{−π²k²/2z²};
 * K3 = √(π/2)/(3240z¹⁰) Σ(α_k³(5 − 30z²) + α_k²(212z⁴ − 60z²) + α_k(135z⁴ − 96z⁶) − 30z⁶ − 90z⁸)E_k
 *      + √(π/2)/(108z⁶) Σ(3π²k²z² − π⁴k⁴) e^{−π²k²/2z²}.
 */
export function pelzGoodCdf(n: number, d: number): number {
  const z = d * Math.sqrt(n);
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z8 = z4 * z4;
  const pi2 = Math.PI * Math.PI;
  const pi4 = pi2 * pi2;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s2b = 0;
  let s3b = 0;
  for (let k = 1; k <= 200; k++) {
    const h = k - 0.5;
    const a = pi2 * h * h; // π²(k − ½)²
    const e = Math.exp(-a / (2 * z2));
    const kk = k * k;
    const eb = Math.exp((-pi2 * kk) / (2 * z2));
    if (e === 0 && eb === 0) break;
    s0 += e;
    s1 += (a - z2) * e;
    s2 += (6 * z6 + 2 * z4 + a * (2 * z4 - 5 * z2) + a * a * (1 - 2 * z2)) * e;
    s3 +=
      (a * a * a * (5 - 30 * z2) +
        a * a * (-60 * z2 + 212 * z4) +
        a * (135 * z4 - 96 * z6) -
        30 * z6 -
        90 * z8) *
      e;
    s2b += pi2 * kk * eb;
    s3b += (3 * pi2 * kk * z2 - pi4 * kk * kk) * eb;
  }
  const r = Math.sqrt(Math.PI / 2);
  const k0 = (Math.sqrt(2 * Math.PI) / z) * s0;
  const k1 = (r / (3 * z4)) * s1;
  const k2 = (r * s2) / (36 * z6 * z) - (r * s2b) / (18 * z2 * z);
  const k3 = (r * s3) / (3240 * z8 * z2) + (r * s3b) / (108 * z6);
  const rn = Math.sqrt(n);
  return k0 + k1 / rn + k2 / n + k3 / (n * rn);
}

function clip(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
