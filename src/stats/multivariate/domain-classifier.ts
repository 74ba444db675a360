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
import { Matrix, solve } from 'ml-matrix';
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

/** Coefficients of an L2-regularised logistic regression (Newton's method; intercept first). */
export function fitLogistic(x: readonly number[][], y: readonly number[], ridge = RIDGE): number[] {
  const p = x[0]?.length ?? 0;
  let beta = new Array<number>(p).fill(0);
  // The Hessian is summed in a flat array (upper triangle): ml-matrix's get/set per element made
  // this loop the whole cost of a window.
  const h = new Float64Array(p * p);
  for (let it = 0; it < NEWTON_ITERATIONS; it++) {
    h.fill(0);
    const g = new Array<number>(p).fill(0);
    for (let r = 0; r < x.length; r++) {
      const row = x[r] as number[];
      let eta = 0;
      for (let j = 0; j < p; j++) eta += (row[j] as number) * (beta[j] as number);
      const mu = 1 / (1 + Math.exp(-eta));
      const w = Math.max(mu * (1 - mu), 1e-10);
      const resid = (y[r] as number) - mu;
      for (let j = 0; j < p; j++) {
        const xj = row[j] as number;
        g[j] = (g[j] as number) + resid * xj;
        const wj = w * xj;
        const base = j * p;
        for (let k = j; k < p; k++) h[base + k] = (h[base + k] as number) + wj * (row[k] as number);
      }
    }
    const hm = new Matrix(p, p);
    for (let j = 0; j < p; j++) {
      for (let k = j; k < p; k++) {
        const v = h[j * p + k] as number;
        hm.set(j, k, v);
        hm.set(k, j, v);
      }
      if (j > 0) {
        hm.set(j, j, hm.get(j, j) + ridge);
        g[j] = (g[j] as number) - ridge * (beta[j] as number);
      }
    }
    // Separable classes (a feature constant in the reference that varies in the window, as ELEC2's
    // first year) drive the weights up until the Hessian's intercept pivot cancels to 0: the fit so
    // far already ranks the rows, which is all the AUROC reads, so it stops there.
    let step: number[];
    try {
      step = solve(hm, Matrix.columnVector(g)).getColumn(0);
    } catch {
      break;
    }
    if (!step.every(Number.isFinite)) break;
    beta = beta.map((b, j) => b + (step[j] as number));
    if (Math.max(...step.map(Math.abs)) < 1e-6) break;
  }
  return beta;
}

function predict(beta: readonly number[], row: readonly number[]): number {
  let eta = 0;
  for (let j = 0; j < beta.length; j++) eta += (beta[j] as number) * (row[j] as number);
  return 1 / (1 + Math.exp(-eta));
}

/**
 * Cross-validated ROC AUC of "window" against "reference" on encoded rows. Folds are stratified
 * and not shuffled (sklearn's StratifiedKFold default, as NannyML calls it): the i-th row of each
 * class goes to fold i mod k. Returns undefined when either side has fewer rows than folds.
 */
export function crossValidatedAuroc(
  reference: readonly number[][],
  window: readonly number[][],
  folds = DEFAULT_FOLDS,
): number | undefined {
  if (reference.length < folds || window.length < folds) return undefined;
  const x = [...reference, ...window].map(quadraticFeatures);
  const y = [...reference.map(() => 0), ...window.map(() => 1)];
  const fold = [...reference.map((_, i) => i % folds), ...window.map((_, i) => i % folds)];
  const scores = new Array<number>(x.length).fill(0);
  for (let f = 0; f < folds; f++) {
    const train = x.flatMap((_, i) => (fold[i] === f ? [] : [i]));
    const beta = fitLogistic(
      train.map((i) => x[i] as number[]),
      train.map((i) => y[i] as number),
    );
    for (let i = 0; i < x.length; i++) if (fold[i] === f) scores[i] = predict(beta, x[i] as number[]);
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
