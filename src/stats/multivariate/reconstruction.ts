/**
 * Multivariate drift by data reconstruction (PCA), after NannyML's DataReconstructionDriftCalculator
 * (nannyml drift/multivariate/data_reconstruction/calculator.py, commit
 * 2334fe4154c4c7e63e9dacb1ad9520b84ad91394; read, not copied):
 *
 * - fit on reference rows: the row encoding of encoding.ts (impute, frequency-encode, standardise),
 *   then a PCA keeping the fewest components whose explained variance exceeds 65 % (sklearn's
 *   `n_components=0.65`: the smallest k with cumulative ratio > 0.65);
 * - per row the Euclidean distance between the encoded row and its reconstruction from those
 *   components; per window the mean of it;
 * - the window's sampling error is the reference rows' error standard deviation / √n (NannyML's
 *   `sampling_error`), and the window alerts when its mean error lies outside reference mean ± 3 of
 *   those standard errors. NannyML takes the ± 3σ band from the spread of reference chunk means; for
 *   exchangeable rows that spread is σ_row / √n, and mlmon's windows differ in size, so the band is
 *   computed for each window's n (the empirical chunk spread is stored too, as a check).
 *
 * The eigen-decomposition is ml-matrix's (symmetric EVD of the covariance of the standardised
 * reference): a d × d problem, d being the number of features, whatever the number of rows.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import {
  encodeRows,
  fitRowEncoding,
  MultivariateInputError,
  type MultivariateRow,
  type RowEncoding,
} from './encoding.js';

/** sklearn's PCA(n_components=0.65) as NannyML passes it. */
export const DEFAULT_EXPLAINED_VARIANCE = 0.65;
/** Alert band half-width in standard errors (NannyML: mean ± 3 std of reference chunks). */
export const ALERT_SIGMAS = 3;

export interface ReconstructionModel {
  method: 'pca_reconstruction';
  encoding: RowEncoding;
  /** k × d, unit-length rows (the principal axes of the standardised reference). */
  components: number[][];
  /** Share of the standardised reference's variance each kept component explains. */
  explainedVarianceRatio: number[];
  /** The share asked for (default 0.65). */
  varianceTarget: number;
  /** Reference rows the model was fitted on. */
  referenceRows: number;
  /** Mean and standard deviation (ddof 1, as pandas' .std()) of the reference rows' errors. */
  errorMean: number;
  errorStd: number;
  /**
   * The check of the √n band: the reference rows cut into consecutive chunks of `size` rows, the
   * standard deviation (ddof 1) of their mean errors, next to errorStd / √size. Absent with fewer
   * than 4 chunks.
   */
  referenceChunks?: { size: number; count: number; meanStd: number; expectedStd: number };
}

export interface ReconstructionWindow {
  /** mean reconstruction error of the window's rows */
  value: number;
  /** sampling error: errorStd / √n */
  error: number;
  lower: number;
  upper: number;
  detected: boolean;
  rows: number;
}

/** Fewest components whose cumulative explained variance ratio exceeds `target` (sklearn's rule). */
export function componentsFor(ratios: readonly number[], target: number): number {
  let cum = 0;
  for (let k = 0; k < ratios.length; k++) {
    cum += ratios[k] as number;
    if (cum > target) return k + 1;
  }
  return ratios.length;
}

/** PCA of already centred rows: eigenvalues (descending) and unit eigenvectors of their covariance. */
export function principalAxes(x: readonly number[][]): { variances: number[]; axes: number[][] } {
  const n = x.length;
  const d = x[0]?.length ?? 0;
  if (n < 2 || d === 0) throw new MultivariateInputError('a PCA needs at least 2 rows and 1 column');
  const m = new Matrix(x as number[][]);
  const cov = m
    .transpose()
    .mmul(m)
    .div(n - 1);
  const evd = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((_, i) => i).sort((a, b) => (values[b] as number) - (values[a] as number));
  return {
    variances: order.map((i) => Math.max(0, values[i] as number)),
    axes: order.map((i) => vectors.getColumn(i)),
  };
}

/** Distance of each encoded row from its reconstruction through the components. */
export function rowErrors(components: readonly number[][], encoded: readonly number[][]): number[] {
  return encoded.map((z) => {
    // Reconstruction: Σ_k (z·w_k) w_k; the standardised reference has mean 0, so no centring.
    const r = new Array<number>(z.length).fill(0);
    for (const w of components) {
      let dot = 0;
      for (let j = 0; j < z.length; j++) dot += (z[j] as number) * (w[j] as number);
      for (let j = 0; j < z.length; j++) r[j] = (r[j] as number) + dot * (w[j] as number);
    }
    let ss = 0;
    for (let j = 0; j < z.length; j++) ss += ((z[j] as number) - (r[j] as number)) ** 2;
    return Math.sqrt(ss);
  });
}

function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  let s = 0;
  for (const v of values) s += v;
  const mean = s / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return { mean, std: values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0 };
}

export interface FitReconstructionOptions {
  /** explained variance to keep (default 0.65) */
  varianceTarget?: number;
  /** chunk size of the stored empirical check (default 500 rows) */
  chunkSize?: number;
}

export function fitReconstruction(
  rows: readonly MultivariateRow[],
  columns: readonly string[],
  categorical: ReadonlySet<string>,
  options: FitReconstructionOptions = {},
): ReconstructionModel {
  if (columns.length < 2) throw new MultivariateInputError('multivariate drift needs at least 2 features');
  const varianceTarget = options.varianceTarget ?? DEFAULT_EXPLAINED_VARIANCE;
  const encoding = fitRowEncoding(rows, columns, categorical);
  const encoded = encodeRows(encoding, rows);
  const { variances, axes } = principalAxes(encoded);
  const total = variances.reduce((a, b) => a + b, 0);
  const ratios = variances.map((v) => (total > 0 ? v / total : 0));
  const k = componentsFor(ratios, varianceTarget);
  const components = axes.slice(0, k);
  const errors = rowErrors(components, encoded);
  const { mean, std } = meanAndStd(errors);
  const size = options.chunkSize ?? 500;
  const chunkMeans: number[] = [];
  for (let i = 0; i + size <= errors.length; i += size)
    chunkMeans.push(meanAndStd(errors.slice(i, i + size)).mean);
  return {
    method: 'pca_reconstruction',
    encoding,
    components,
    explainedVarianceRatio: ratios.slice(0, k),
    varianceTarget,
    referenceRows: rows.length,
    errorMean: mean,
    errorStd: std,
    ...(chunkMeans.length >= 4
      ? {
          referenceChunks: {
            size,
            count: chunkMeans.length,
            meanStd: meanAndStd(chunkMeans).std,
            expectedStd: std / Math.sqrt(size),
          },
        }
      : {}),
  };
}

/** The window's mean reconstruction error, its sampling error and the alert decision. */
export function reconstructionDrift(
  model: ReconstructionModel,
  rows: readonly MultivariateRow[],
): ReconstructionWindow | undefined {
  if (rows.length === 0) return undefined;
  const errors = rowErrors(model.components, encodeRows(model.encoding, rows));
  const value = meanAndStd(errors).mean;
  const error = model.errorStd / Math.sqrt(rows.length);
  const lower = model.errorMean - ALERT_SIGMAS * error;
  const upper = model.errorMean + ALERT_SIGMAS * error;
  return { value, error, lower, upper, detected: value < lower || value > upper, rows: rows.length };
}
