/**
 * Multivariate drift by a domain classifier, after NannyML's DomainClassifierCalculator (nannyml
 * drift/multivariate/domain_classifier/calculator.py, commit 33d130d01fec3e7a2df7f4fb3b14d04d955e1de7;
 * read, not copied): label reference rows 0 and window rows 1, train a classifier with stratified
 * k-fold cross-validation (5 folds, no shuffle), and take the ROC AUC of the out-of-fold
 * predictions; an AUC above 0.65 alerts (NannyML's ConstantThreshold(upper=0.65)).
 *
 * NannyML trains LightGBM. mlmon trains an L2-regularised logistic regression on the encoded rows
 * (encoding.ts) and their pairwise products and squares: between two Gaussian populations the
 * log-likelihood ratio is exactly such a quadratic, so this model can separate a change of means, of
 * scales and of correlations (the case issue 27 names), which a linear one cannot. It is written
 * here (Newton–Raphson/IRLS with ml-matrix's solver) because the npm logistic regressions
 * (ml-logistic-regression) fit by a fixed number of gradient steps with no regularisation choice,
 * and no maintained npm gradient-boosting library runs without native code.
 */
import { CholeskyDecomposition, Matrix, solve } from 'ml-matrix';
import { rocAuc } from '../performance/roc.js';
import { seededRandom } from '../random.js';
import { encodeRows, type MultivariateRow, type RowEncoding } from './encoding.js';

/** NannyML's default upper threshold. */
export const DOMAIN_CLASSIFIER_THRESHOLD = 0.65;
export const DEFAULT_FOLDS = 5;
/** Ridge penalty on the (standardised-scale) coefficients, intercept unpenalised. */
const RIDGE = 1;
const NEWTON_ITERATIONS = 25;

/**
 * Up to this many features the model takes every pairwise product (1 + d + d(d+1)/2 terms: 231 at
 * 20); beyond, only the squares (1 + 2d), so its cost stays linear in d but it no longer sees a
 * change of correlation alone (the PCA reconstruction still does). docs/drift.md states it.
 */
export const QUADRATIC_MAX_FEATURES = 20;

/** Encoded row → [1, z_i, z_i·z_j (i ≤ j)], or [1, z_i, z_i²] above QUADRATIC_MAX_FEATURES. */
export function quadraticFeatures(z: readonly number[]): number[] {
  const out = [1, ...z];
  if (z.length > QUADRATIC_MAX_FEATURES) {
    for (const v of z) out.push(v * v);
    return out;
  }
  for (let i = 0; i < z.length; i++)
    for (let j = i; j < z.length; j++) out.push((z[i] as number) * (z[j] as number));
  return out;
}

/** Rows as one row-major Float64Array: the Hessian loop reads them without bounds checks on arrays of arrays. */
interface Design {
  x: Float64Array;
  n: number;
  p: number;
}

function designOf(rows: readonly (readonly number[])[]): Design {
  const n = rows.length;
  const p = rows[0]?.length ?? 0;
  const x = new Float64Array(n * p);
  rows.forEach((row, r) => x.set(row, r * p));
  return { x, n, p };
}

/**
 * One pass over `rows` at `beta`: adds Σ w·x·xᵀ (upper triangle) of each row into `hessians[bucket[r]]`
 * (one bucket when `bucket` is undefined) and returns the log-likelihood gradient Σ (y − μ)·x. Four
 * rows at a time: each Hessian entry is then loaded and stored once per four rows, which is most of
 * the cost at p ≈ 100 (the entries no longer fit the fastest cache).
 */
function accumulate(
  d: Design,
  rows: Int32Array,
  y: readonly number[],
  beta: Float64Array,
  hessians: Float64Array[],
  bucket: Int32Array | undefined,
  work: ClassifierWork | undefined,
): Float64Array {
  const { x, p } = d;
  if (work) work.hessianRows += rows.length;
  const g = new Float64Array(p);
  const weights = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const off = (rows[i] as number) * p;
    let eta = 0;
    for (let j = 0; j < p; j++) eta += (x[off + j] as number) * (beta[j] as number);
    const mu = 1 / (1 + Math.exp(-eta));
    weights[i] = Math.max(mu * (1 - mu), 1e-10);
    const resid = (y[rows[i] as number] as number) - mu;
    for (let j = 0; j < p; j++) g[j] = (g[j] as number) + resid * (x[off + j] as number);
  }
  // Rows in runs of one bucket (rows are listed fold by fold or in one bucket), four at a time.
  let i = 0;
  while (i < rows.length) {
    const h = hessians[bucket ? (bucket[rows[i] as number] as number) : 0] as Float64Array;
    const sameBucket = (k: number) =>
      k < rows.length && (!bucket || bucket[rows[k] as number] === bucket[rows[i] as number]);
    if (sameBucket(i + 3)) {
      const o0 = (rows[i] as number) * p;
      const o1 = (rows[i + 1] as number) * p;
      const o2 = (rows[i + 2] as number) * p;
      const o3 = (rows[i + 3] as number) * p;
      const w0 = weights[i] as number;
      const w1 = weights[i + 1] as number;
      const w2 = weights[i + 2] as number;
      const w3 = weights[i + 3] as number;
      for (let j = 0; j < p; j++) {
        const a0 = w0 * (x[o0 + j] as number);
        const a1 = w1 * (x[o1 + j] as number);
        const a2 = w2 * (x[o2 + j] as number);
        const a3 = w3 * (x[o3 + j] as number);
        const base = j * p;
        for (let k = j; k < p; k++)
          h[base + k] =
            (h[base + k] as number) +
            a0 * (x[o0 + k] as number) +
            a1 * (x[o1 + k] as number) +
            a2 * (x[o2 + k] as number) +
            a3 * (x[o3 + k] as number);
      }
      i += 4;
    } else {
      const o = (rows[i] as number) * p;
      const w = weights[i] as number;
      for (let j = 0; j < p; j++) {
        const a = w * (x[o + j] as number);
        const base = j * p;
        for (let k = j; k < p; k++) h[base + k] = (h[base + k] as number) + a * (x[o + k] as number);
      }
      i += 1;
    }
  }
  return g;
}

/** The penalised Hessian (upper triangle `h` mirrored, ridge on all but the intercept) as a Matrix. */
function penalisedHessian(h: Float64Array, p: number, ridge: number): Matrix {
  const hm = new Matrix(p, p);
  for (let j = 0; j < p; j++)
    for (let k = j; k < p; k++) {
      const v = (h[j * p + k] as number) + (j === k && j > 0 ? ridge : 0);
      hm.set(j, k, v);
      hm.set(k, j, v);
    }
  return hm;
}

/** g − ridge·β (intercept unpenalised), in place. */
function penaliseGradient(g: Float64Array, beta: Float64Array, ridge: number): Float64Array {
  for (let j = 1; j < g.length; j++) g[j] = (g[j] as number) - ridge * (beta[j] as number);
  return g;
}

const maxAbs = (v: ArrayLike<number>): number => {
  let m = 0;
  for (let j = 0; j < v.length; j++) m = Math.max(m, Math.abs(v[j] as number));
  return m;
};

/**
 * What a fit cost, in rows passed: a Hessian pass costs ~p²/2 per row, a gradient pass ~2p (tests
 * count these instead of timing them).
 */
export interface ClassifierWork {
  hessianRows: number;
  gradientRows: number;
}

/**
 * Newton–Raphson from β = 0 on `rows`. `hessians`/`bucket` receive the last iteration's Hessian
 * split by bucket (crossValidatedAuroc reuses it for its folds). `converged` is false when it
 * stopped on a singular Hessian or after NEWTON_ITERATIONS.
 */
function newton(
  d: Design,
  rows: Int32Array,
  y: readonly number[],
  ridge: number,
  hessians: Float64Array[] = [new Float64Array(d.p * d.p)],
  bucket?: Int32Array,
  work?: ClassifierWork,
): { beta: Float64Array; converged: boolean } {
  const p = d.p;
  const beta = new Float64Array(p);
  const total = hessians.length === 1 ? (hessians[0] as Float64Array) : new Float64Array(p * p);
  for (let it = 0; it < NEWTON_ITERATIONS; it++) {
    for (const h of hessians) h.fill(0);
    const g = penaliseGradient(accumulate(d, rows, y, beta, hessians, bucket, work), beta, ridge);
    if (hessians.length > 1) {
      total.fill(0);
      for (const h of hessians)
        for (let k = 0; k < total.length; k++) total[k] = (total[k] as number) + (h[k] as number);
    }
    // Separable classes (a feature constant in the reference that varies in the window, as ELEC2's
    // first year) drive the weights up until the Hessian's intercept pivot cancels to 0: the fit so
    // far already ranks the rows, which is all the AUROC reads, so it stops there.
    let step: number[];
    try {
      step = solve(penalisedHessian(total, p, ridge), Matrix.columnVector(Array.from(g))).getColumn(0);
    } catch {
      return { beta, converged: false };
    }
    if (!step.every(Number.isFinite)) return { beta, converged: false };
    for (let j = 0; j < p; j++) beta[j] = (beta[j] as number) + (step[j] as number);
    if (maxAbs(step) < 1e-6) return { beta, converged: true };
  }
  return { beta, converged: false };
}

/** Coefficients of an L2-regularised logistic regression (Newton's method; intercept first). */
export function fitLogistic(x: readonly number[][], y: readonly number[], ridge = RIDGE): number[] {
  const d = designOf(x);
  return Array.from(newton(d, Int32Array.from(x.keys()), y, ridge).beta);
}

/** Chord iterations allowed per fold before it is fitted by Newton from 0 instead. */
const CHORD_ITERATIONS = 50;

/**
 * A fold's fit from the whole-sample optimum with the Hessian held fixed (the chord method): each
 * step costs one gradient pass (n·p) instead of a Hessian pass (n·p²/2). It converges to the same
 * optimum (the gradient it zeroes is the same); undefined when it does not within CHORD_ITERATIONS.
 */
function chordFit(
  d: Design,
  rows: Int32Array,
  y: readonly number[],
  ridge: number,
  start: Float64Array,
  hessian: Float64Array,
  work: ClassifierWork | undefined,
): Float64Array | undefined {
  let chol: CholeskyDecomposition;
  try {
    chol = new CholeskyDecomposition(penalisedHessian(hessian, d.p, ridge));
  } catch {
    return undefined;
  }
  if (!chol.isPositiveDefinite()) return undefined;
  const beta = Float64Array.from(start);
  for (let it = 0; it < CHORD_ITERATIONS; it++) {
    const g = penaliseGradient(gradient(d, rows, y, beta, work), beta, ridge);
    const step = chol.solve(Matrix.columnVector(Array.from(g))).getColumn(0);
    if (!step.every(Number.isFinite)) return undefined;
    for (let j = 0; j < d.p; j++) beta[j] = (beta[j] as number) + (step[j] as number);
    if (maxAbs(step) < 1e-6) return beta;
  }
  return undefined;
}

/** Σ (y − μ)·x over `rows` at `beta` (the log-likelihood gradient alone). */
function gradient(
  d: Design,
  rows: Int32Array,
  y: readonly number[],
  beta: Float64Array,
  work: ClassifierWork | undefined,
): Float64Array {
  const { x, p } = d;
  if (work) work.gradientRows += rows.length;
  const g = new Float64Array(p);
  for (let i = 0; i < rows.length; i++) {
    const off = (rows[i] as number) * p;
    let eta = 0;
    for (let j = 0; j < p; j++) eta += (x[off + j] as number) * (beta[j] as number);
    const resid = (y[rows[i] as number] as number) - 1 / (1 + Math.exp(-eta));
    for (let j = 0; j < p; j++) g[j] = (g[j] as number) + resid * (x[off + j] as number);
  }
  return g;
}

function predict(beta: ArrayLike<number>, x: Float64Array, off: number): number {
  let eta = 0;
  for (let j = 0; j < beta.length; j++) eta += (beta[j] as number) * (x[off + j] as number);
  return 1 / (1 + Math.exp(-eta));
}

/**
 * Cross-validated ROC AUC of "window" against "reference" on encoded rows. Folds are stratified
 * and not shuffled (sklearn's StratifiedKFold default, as NannyML calls it): the i-th row of each
 * class goes to fold i mod k. Returns undefined when either side has fewer rows than folds.
 *
 * Each fold's model is the penalised optimum on the other folds, as a Newton fit from 0 per fold
 * would find it, computed more cheaply: one Newton fit on all rows keeps its last Hessian per fold,
 * and each fold starts from that optimum with the Hessian of its training folds held fixed (chord
 * iterations, `chordFit`). A fold where that does not converge (separable classes: the whole-sample
 * fit stops on a singular Hessian) is fitted by Newton from 0 on its own, as before.
 */
export function crossValidatedAuroc(
  reference: readonly number[][],
  window: readonly number[][],
  folds = DEFAULT_FOLDS,
  work?: ClassifierWork,
): number | undefined {
  const ridge = RIDGE;
  if (reference.length < folds || window.length < folds) return undefined;
  const d = designOf([...reference, ...window].map(quadraticFeatures));
  const y = [...reference.map(() => 0), ...window.map(() => 1)];
  const fold = Int32Array.from([...reference.map((_, i) => i % folds), ...window.map((_, i) => i % folds)]);
  // All rows listed fold by fold, so that the Hessian loop meets each fold in one run.
  const byFold = Array.from({ length: folds }, (_, f) =>
    Int32Array.from(fold.keys()).filter((i) => fold[i] === f),
  );
  const all = Int32Array.from(byFold.flatMap((rows) => Array.from(rows)));
  const perFold = byFold.map(() => new Float64Array(d.p * d.p));
  const whole = newton(d, all, y, ridge, perFold, fold, work);
  const scores = new Array<number>(d.n).fill(0);
  for (let f = 0; f < folds; f++) {
    const train = all.filter((i) => fold[i] !== f);
    let beta: Float64Array | undefined;
    if (whole.converged) {
      const h = new Float64Array(d.p * d.p);
      perFold.forEach((part, g) => {
        if (g !== f) for (let k = 0; k < h.length; k++) h[k] = (h[k] as number) + (part[k] as number);
      });
      beta = chordFit(d, train, y, ridge, whole.beta, h, work);
    }
    beta ??= newton(d, train, y, ridge, undefined, undefined, work).beta;
    for (const i of byFold[f] as Int32Array) scores[i] = predict(beta, d.x, i * d.p);
  }
  return rocAuc(y, scores, { positiveClass: 1 }) ?? undefined;
}

export interface DomainClassifierNull {
  /** AUROCs of reference half against reference half (disjoint random halves). */
  aurocs: number[];
  mean: number;
  std: number;
  max: number;
}

export interface DomainClassifierWindow {
  value: number;
  threshold: number;
  detected: boolean;
  referenceRows: number;
  rows: number;
}

/** AUROC of the window's rows against the reference sample, and the decision at `threshold`. */
export function domainClassifierDrift(
  encoding: RowEncoding,
  referenceRows: readonly MultivariateRow[],
  rows: readonly MultivariateRow[],
  threshold = DOMAIN_CLASSIFIER_THRESHOLD,
): DomainClassifierWindow | undefined {
  const value = crossValidatedAuroc(encodeRows(encoding, referenceRows), encodeRows(encoding, rows));
  if (value === undefined) return undefined;
  return {
    value,
    threshold,
    detected: value > threshold,
    referenceRows: referenceRows.length,
    rows: rows.length,
  };
}

/**
 * The statistic's null distribution: the reference sample split `repeats` times into two halves
 * by a seeded shuffle, each half against the other. Exchangeable data give AUROCs near 0.5; this
 * says how far from it chance goes at the reference sample's size.
 */
export function domainClassifierNull(
  encoding: RowEncoding,
  referenceRows: readonly MultivariateRow[],
  repeats = 5,
  seed = 27,
): DomainClassifierNull | undefined {
  const encoded = encodeRows(encoding, referenceRows);
  const rand = seededRandom(seed);
  const aurocs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const order = encoded.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const half = Math.floor(order.length / 2);
    const a = order.slice(0, half).map((i) => encoded[i] as number[]);
    const b = order.slice(half).map((i) => encoded[i] as number[]);
    const auc = crossValidatedAuroc(a, b);
    if (auc !== undefined) aurocs.push(auc);
  }
  if (aurocs.length === 0) return undefined;
  const mean = aurocs.reduce((s, v) => s + v, 0) / aurocs.length;
  const std =
    aurocs.length > 1 ? Math.sqrt(aurocs.reduce((s, v) => s + (v - mean) ** 2, 0) / (aurocs.length - 1)) : 0;
  return { aurocs, mean, std, max: Math.max(...aurocs) };
}
