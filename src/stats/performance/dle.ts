/**
 * Direct loss estimation (DLE): a label-free estimate of a regression model's MAE and RMSE.
 *
 * The method as NannyML defines it (read: NannyML/nannyml
 * `nannyml/performance_estimation/direct_loss_estimation/metrics.py` at commit 03e72fd4, and
 * `nannyml/sampling_error/regression.py` at 3dcf8313; no code taken):
 * - on the reference period, where labels exist, a second model is fitted whose target is the
 *   monitored model's per-row loss — |y − ŷ| for MAE, (y − ŷ)² for RMSE — and whose inputs are the
 *   monitored model's features plus its prediction ŷ;
 * - on an analysis window (no labels) the estimated MAE is the mean predicted |error|, the estimated
 *   RMSE the square root of the mean predicted squared error;
 * - the sampling error of a window of n rows is the reference's std of the per-row loss over √n
 *   (MAE), and sqrt(std(e²)² / (4 n mean(e²))) for RMSE (the delta method on √MSE); these are the
 *   closed forms of the spread of the realised metric over reference chunks of n rows; the band is
 *   ± 3 of them (NannyML's width).
 *
 * It works under covariate shift (the inputs move, P(y | x) stays): the loss model knows how large
 * the error is where the inputs now are. It cannot see concept drift (P(y | x) changes): the
 * estimate stays where the reference put it, which is what the reliability check catches once
 * labels arrive (realised outside the band).
 *
 * The loss model. NannyML uses LightGBM. The npm candidates were checked (December 2026): `lightgbm`
 * compiles a native addon at install (cmake-js; fails here, and a binary build step is a cost for
 * every user), `ml-xgboost` has had a single release (on ml-matrix 5), `ml-cart` (mljs) fits a
 * single CART tree with no boosting and its own split and missing-value rules. What the analyzer
 * needs from the trees is specific: each leaf must be expressible as a conjunction of
 * Elasticsearch `range` tests with the same semantics as the fitted split (x ≥ t goes right;
 * x < t, or a missing or non-numeric value, goes left), so that the window's mean predicted loss is
 * computed inside Elasticsearch with nested `range` aggregations per tree (exact, no scripts, no
 * reading of rows). So the ensemble is written here: least-squares gradient boosting (LightGBM's
 * default `regression` objective) of fixed-depth trees on quantile-binned inputs — small, seeded
 * nowhere (deterministic), and serialisable as leaves. Defaults: 50 rounds, depth 3 (8 leaves per
 * tree), learning rate 0.1, at least 20 rows per leaf, 64 candidate thresholds per input.
 *
 * Cross-fitting: the reference loss level stored with the model is the mean of out-of-fold
 * predictions (5 folds; each row predicted by trees fitted without it), so the level the analysis
 * compares with carries no in-sample optimism; the trees applied to windows are fitted on every
 * reference row.
 *
 * Length: Over 450 lines on purpose: the fit (boosted trees on binned inputs), the cross-fit and the
 * sampling errors are one method, read and tested together (test/stats/dle.test.ts).
 */

/** A split test: `gte` holds when the input is a number ≥ threshold; `lt` otherwise (missing included). */
export type LossSplitOp = 'lt' | 'gte';

/** One condition of a leaf: [input index, op, threshold]. */
export type LossCondition = [input: number, op: LossSplitOp, threshold: number];

export interface LossLeaf {
  /** every condition must hold; the leaves of a tree partition all rows */
  conditions: LossCondition[];
  /** the leaf's contribution (learning rate applied) */
  value: number;
}

export interface LossTree {
  leaves: LossLeaf[];
}

/** A boosted ensemble: prediction = base + Σ over trees of the value of the leaf the row falls in. */
export interface LossEnsemble {
  base: number;
  trees: LossTree[];
}

export interface LossModelSettings {
  rounds: number;
  depth: number;
  learningRate: number;
  minLeaf: number;
  maxThresholds: number;
  folds: number;
}

export const DEFAULT_LOSS_MODEL_SETTINGS: LossModelSettings = {
  rounds: 50,
  depth: 3,
  learningRate: 0.1,
  minLeaf: 20,
  maxThresholds: 64,
  folds: 5,
};

/** Reference figures of one loss: the sampling-error components and the cross-fitted level. */
export interface LossReference {
  /** realised mean loss on the reference (MAE, or MSE for the squared loss) */
  mean: number;
  /** population std of the per-row loss (NannyML's sampling-error component) */
  std: number;
  /** mean of the out-of-fold predicted loss on the reference */
  crossFitMean: number;
  /** mean |out-of-fold predicted − realised| per row */
  crossFitMeanAbsError: number;
}

export interface DirectLossModel {
  method: 'dle';
  /** input names in the order the conditions index them (e.g. `features.x`, `prediction.value`) */
  inputs: string[];
  /** reference rows the models were fitted on */
  count: number;
  settings: LossModelSettings;
  /** model of |y − ŷ| */
  absolute: LossEnsemble & { reference: LossReference };
  /** model of (y − ŷ)² */
  squared: LossEnsemble & { reference: LossReference };
}

/** Inputs per row: a number, or null / NaN for a missing value. */
export type LossRow = ReadonlyArray<number | null>;

const isNum = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

function conditionHolds(c: LossCondition, row: LossRow): boolean {
  const x = row[c[0]];
  const right = isNum(x) && x >= c[2];
  return c[1] === 'gte' ? right : !right;
}

/** The ensemble's prediction for one row. */
export function predictEnsemble(model: LossEnsemble, row: LossRow): number {
  let out = model.base;
  for (const tree of model.trees) {
    for (const leaf of tree.leaves) {
      if (leaf.conditions.every((c) => conditionHolds(c, row))) {
        out += leaf.value;
        break;
      }
    }
  }
  return out;
}

/**
 * The mean prediction over a window from the row count of each leaf (what a `filters`
 * aggregation per tree returns): base + Σ_t Σ_l value · count / n. Throws when a tree's counts do
 * not add up to n (the leaves must partition the window's rows).
 */
export function meanFromLeafCounts(
  model: LossEnsemble,
  counts: ReadonlyArray<readonly number[]>,
  n: number,
): number {
  if (counts.length !== model.trees.length)
    throw new RangeError(`leaf counts for ${counts.length} trees, the model has ${model.trees.length}`);
  if (!(n > 0)) throw new RangeError(`window size must be > 0, got ${n}`);
  let out = model.base;
  for (const [t, tree] of model.trees.entries()) {
    const c = counts[t] as readonly number[];
    if (c.length !== tree.leaves.length)
      throw new RangeError(`tree ${t}: ${c.length} counts for ${tree.leaves.length} leaves`);
    let total = 0;
    for (const [l, leaf] of tree.leaves.entries()) {
      out += (leaf.value * (c[l] as number)) / n;
      total += c[l] as number;
    }
    if (total !== n)
      throw new RangeError(`tree ${t}: leaf counts add up to ${total}, not the window's ${n} rows`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fitting

interface Binned {
  /** per input, sorted candidate thresholds */
  thresholds: number[][];
  /** per input, per row: number of thresholds ≤ value (0 for missing) */
  bins: Uint16Array[];
}

/** Candidate thresholds of one input: distinct values at its quantiles, each above the minimum. */
function candidateThresholds(values: readonly (number | null)[], max: number): number[] {
  const finite = values.filter(isNum).sort((a, b) => a - b);
  if (finite.length < 2) return [];
  const min = finite[0] as number;
  const out: number[] = [];
  for (let k = 1; k < max; k++) {
    const v = finite[Math.floor((k * finite.length) / max)] as number;
    if (v > min && (out.length === 0 || v > (out[out.length - 1] as number))) out.push(v);
  }
  return out;
}

function binIndex(thresholds: readonly number[], x: number | null): number {
  if (!isNum(x)) return 0;
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((thresholds[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function binColumns(rows: readonly LossRow[], inputs: number, maxThresholds: number): Binned {
  const thresholds: number[][] = [];
  const bins: Uint16Array[] = [];
  for (let j = 0; j < inputs; j++) {
    const column = rows.map((r) => r[j] ?? null);
    const t = candidateThresholds(column, maxThresholds);
    thresholds.push(t);
    const b = new Uint16Array(rows.length);
    for (let i = 0; i < rows.length; i++) b[i] = binIndex(t, column[i] as number | null);
    bins.push(b);
  }
  return { thresholds, bins };
}

/** Grows one tree on the residuals of `rows`; adds its leaf values to `fitted`. */
function growTree(
  binned: Binned,
  residual: Float64Array,
  rows: Int32Array,
  fitted: Float64Array,
  s: LossModelSettings,
): LossTree {
  const leaves: LossLeaf[] = [];
  const node = (members: Int32Array, conditions: LossCondition[], depth: number): void => {
    let sum = 0;
    for (const i of members) sum += residual[i] as number;
    const n = members.length;
    let best: { input: number; k: number; gain: number } | null = null;
    if (depth < s.depth && n >= 2 * s.minLeaf) {
      const parent = (sum * sum) / n;
      for (let j = 0; j < binned.bins.length; j++) {
        const T = (binned.thresholds[j] as number[]).length;
        if (T === 0) continue;
        const b = binned.bins[j] as Uint16Array;
        const hs = new Float64Array(T + 1);
        const hc = new Int32Array(T + 1);
        for (const i of members) {
          const k = b[i] as number;
          hs[k]! += residual[i] as number;
          hc[k]! += 1;
        }
        let ls = 0;
        let lc = 0;
        for (let k = 1; k <= T; k++) {
          ls += hs[k - 1] as number;
          lc += hc[k - 1] as number;
          const rc = n - lc;
          if (lc < s.minLeaf) continue;
          if (rc < s.minLeaf) break;
          const rs = sum - ls;
          const gain = (ls * ls) / lc + (rs * rs) / rc - parent;
          if (gain > 1e-12 * Math.max(1, parent) && (!best || gain > best.gain)) best = { input: j, k, gain };
        }
      }
    }
    if (!best) {
      const value = n > 0 ? (s.learningRate * sum) / n : 0;
      for (const i of members) fitted[i]! += value;
      leaves.push({ conditions, value });
      return;
    }
    const b = binned.bins[best.input] as Uint16Array;
    const threshold = (binned.thresholds[best.input] as number[])[best.k - 1] as number;
    const left: number[] = [];
    const right: number[] = [];
    for (const i of members) ((b[i] as number) >= best.k ? right : left).push(i);
    node(Int32Array.from(left), [...conditions, [best.input, 'lt', threshold]], depth + 1);
    node(Int32Array.from(right), [...conditions, [best.input, 'gte', threshold]], depth + 1);
  };
  node(rows, [], 0);
  return { leaves };
}

/** Least-squares gradient boosting of fixed-depth trees (see the module comment). */
export function fitLossEnsemble(
  rows: readonly LossRow[],
  target: readonly number[],
  settings: Partial<LossModelSettings> = {},
): LossEnsemble {
  const s = { ...DEFAULT_LOSS_MODEL_SETTINGS, ...settings };
  if (rows.length !== target.length) throw new RangeError(`${rows.length} rows, ${target.length} targets`);
  if (rows.length === 0) throw new RangeError('no rows to fit a loss model on');
  for (const y of target) if (!Number.isFinite(y)) throw new RangeError(`loss must be finite, got ${y}`);
  const inputs = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const binned = binColumns(rows, inputs, s.maxThresholds);
  const base = target.reduce((a, y) => a + y, 0) / target.length;
  const fitted = new Float64Array(rows.length).fill(base);
  const residual = new Float64Array(rows.length);
  const all = Int32Array.from(rows.keys());
  const trees: LossTree[] = [];
  for (let r = 0; r < s.rounds; r++) {
    for (let i = 0; i < rows.length; i++) residual[i] = (target[i] as number) - (fitted[i] as number);
    const tree = growTree(binned, residual, all, fitted, s);
    if (tree.leaves.length === 1 && Math.abs(tree.leaves[0]?.value ?? 0) < 1e-15) break;
    trees.push(tree);
  }
  return { base, trees };
}

/** Out-of-fold predictions: row i predicted by an ensemble fitted on the folds without it (fold = i mod k). */
export function crossFitPredictions(
  rows: readonly LossRow[],
  target: readonly number[],
  settings: Partial<LossModelSettings> = {},
): number[] {
  const s = { ...DEFAULT_LOSS_MODEL_SETTINGS, ...settings };
  const out = new Array<number>(rows.length).fill(0);
  for (let f = 0; f < s.folds; f++) {
    const trainRows: LossRow[] = [];
    const trainTarget: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      if (i % s.folds === f) continue;
      trainRows.push(rows[i] as LossRow);
      trainTarget.push(target[i] as number);
    }
    const model = fitLossEnsemble(trainRows, trainTarget, s);
    for (let i = f; i < rows.length; i += s.folds) out[i] = predictEnsemble(model, rows[i] as LossRow);
  }
  return out;
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(variance) };
}

function fitOne(
  rows: readonly LossRow[],
  loss: readonly number[],
  s: LossModelSettings,
): LossEnsemble & { reference: LossReference } {
  const oof = crossFitPredictions(rows, loss, s);
  const { mean, std } = meanStd(loss);
  let crossFitMeanAbsError = 0;
  for (let i = 0; i < loss.length; i++)
    crossFitMeanAbsError += Math.abs((oof[i] as number) - (loss[i] as number));
  return {
    ...fitLossEnsemble(rows, loss, s),
    reference: {
      mean,
      std,
      crossFitMean: oof.reduce((a, x) => a + x, 0) / oof.length,
      crossFitMeanAbsError: crossFitMeanAbsError / loss.length,
    },
  };
}

export interface DirectLossInput {
  /** input names, one per column of `rows` */
  inputs: string[];
  rows: readonly LossRow[];
  /** per row, the monitored model's error ŷ − y */
  errors: readonly number[];
  settings?: Partial<LossModelSettings>;
}

/** Fits the |error| and error² models on reference rows, with their cross-fitted reference figures. */
export function fitDirectLossModel(input: DirectLossInput): DirectLossModel {
  const s = { ...DEFAULT_LOSS_MODEL_SETTINGS, ...(input.settings ?? {}) };
  if (input.rows.length !== input.errors.length)
    throw new RangeError(`${input.rows.length} rows, ${input.errors.length} errors`);
  if (input.rows.length < 2 * s.folds)
    throw new RangeError(`${input.rows.length} rows are too few for ${s.folds} folds`);
  for (const e of input.errors)
    if (!Number.isFinite(e)) throw new RangeError(`error must be finite, got ${e}`);
  return {
    method: 'dle',
    inputs: [...input.inputs],
    count: input.rows.length,
    settings: s,
    absolute: fitOne(input.rows, input.errors.map(Math.abs), s),
    squared: fitOne(
      input.rows,
      input.errors.map((e) => e * e),
      s,
    ),
  };
}

/** Throws a clear error when a stored model is not one this code can apply. */
export function checkDirectLossModel(model: DirectLossModel): void {
  if (model?.method !== 'dle' || !Array.isArray(model.inputs) || !model.absolute || !model.squared)
    throw new RangeError(
      'not a direct loss estimation model (method "dle" with absolute and squared ensembles)',
    );
  for (const e of [model.absolute, model.squared])
    for (const t of e.trees)
      for (const l of t.leaves)
        for (const [input] of l.conditions)
          if (!(input >= 0 && input < model.inputs.length))
            throw new RangeError(`condition on input ${input} out of range`);
}

// ---------------------------------------------------------------------------------------------
// One window's estimate

export interface DleLabelled {
  /** labelled predictions of the window */
  count: number;
  sumAbsError: number;
  sumSquaredError: number;
}

export interface DleWindowOptions {
  model: DirectLossModel;
  /** rows (predictions) in the window */
  count: number;
  /** mean predicted |error| and error² over the window (e.g. {@link meanFromLeafCounts}) */
  meanAbsLoss: number;
  meanSquaredLoss: number;
  /** the window's labelled predictions, for the reliability verdict */
  labelled?: DleLabelled;
  /** band half-width in sampling errors (default 3) */
  sigmas?: number;
  /** fewest labelled predictions to judge reliability on (default 30) */
  minLabelled?: number;
}

export type DleUnreliableReason = 'mae_outside_band' | 'rmse_outside_band';

export interface DleCheck {
  labelled: number;
  realisedMae: number;
  realisedRmse: number;
  /** (realised − estimated) in sampling errors of the labelled count */
  maeZ: number;
  rmseZ: number;
  reliable: boolean;
  reasons: DleUnreliableReason[];
}

export interface DleWindowEstimate {
  count: number;
  mae: number;
  rmse: number;
  maeStdError: number;
  maeLower: number;
  maeUpper: number;
  rmseStdError: number;
  rmseLower: number;
  rmseUpper: number;
  sigmas: number;
  /** reference MAE / RMSE (cross-fitted level of the loss model) */
  referenceMae: number;
  referenceRmse: number;
  check: DleCheck | null;
}

/** Sampling error of the MAE of n rows (NannyML: std(|e|) / √n). */
export function maeSamplingError(reference: LossReference, n: number): number {
  return reference.std / Math.sqrt(n);
}

/** Sampling error of the RMSE of n rows (NannyML: sqrt(std(e²)² / (4 n mean(e²)))). */
export function rmseSamplingError(reference: LossReference, n: number): number {
  return reference.mean > 0 ? Math.sqrt((reference.std * reference.std) / (4 * n * reference.mean)) : 0;
}

const zOf = (difference: number, se: number): number =>
  se > 0 ? difference / se : difference === 0 ? 0 : Math.sign(difference) * Infinity;

export function estimateLossWindow(options: DleWindowOptions): DleWindowEstimate {
  const { model, count } = options;
  const sigmas = options.sigmas ?? 3;
  const minLabelled = options.minLabelled ?? 30;
  if (!(count > 0)) throw new RangeError(`window size must be > 0, got ${count}`);
  if (!(sigmas > 0)) throw new RangeError(`sigmas must be > 0, got ${sigmas}`);
  // A boosted sum can dip below 0 where the loss is near 0; a mean loss cannot.
  const mae = Math.max(0, options.meanAbsLoss);
  const rmse = Math.sqrt(Math.max(0, options.meanSquaredLoss));
  const maeSe = maeSamplingError(model.absolute.reference, count);
  const rmseSe = rmseSamplingError(model.squared.reference, count);
  let check: DleCheck | null = null;
  const l = options.labelled;
  if (l && l.count >= minLabelled) {
    const realisedMae = l.sumAbsError / l.count;
    const realisedRmse = Math.sqrt(l.sumSquaredError / l.count);
    const maeZ = zOf(realisedMae - mae, maeSamplingError(model.absolute.reference, l.count));
    const rmseZ = zOf(realisedRmse - rmse, rmseSamplingError(model.squared.reference, l.count));
    const reasons: DleUnreliableReason[] = [];
    if (Math.abs(maeZ) > sigmas) reasons.push('mae_outside_band');
    if (Math.abs(rmseZ) > sigmas) reasons.push('rmse_outside_band');
    check = {
      labelled: l.count,
      realisedMae,
      realisedRmse,
      maeZ,
      rmseZ,
      reliable: reasons.length === 0,
      reasons,
    };
  }
  return {
    count,
    mae,
    rmse,
    maeStdError: maeSe,
    maeLower: Math.max(0, mae - sigmas * maeSe),
    maeUpper: mae + sigmas * maeSe,
    rmseStdError: rmseSe,
    rmseLower: Math.max(0, rmse - sigmas * rmseSe),
    rmseUpper: rmse + sigmas * rmseSe,
    sigmas,
    referenceMae: model.absolute.reference.crossFitMean,
    referenceRmse: Math.sqrt(Math.max(0, model.squared.reference.crossFitMean)),
    check,
  };
}

/** The estimate from rows (offline, tests): the ensembles applied row by row. */
export function estimateLossFromRows(
  model: DirectLossModel,
  rows: readonly LossRow[],
  options: Omit<DleWindowOptions, 'model' | 'count' | 'meanAbsLoss' | 'meanSquaredLoss'> = {},
): DleWindowEstimate {
  let abs = 0;
  let sq = 0;
  for (const r of rows) {
    abs += predictEnsemble(model.absolute, r);
    sq += predictEnsemble(model.squared, r);
  }
  return estimateLossWindow({
    ...options,
    model,
    count: rows.length,
    meanAbsLoss: abs / rows.length,
    meanSquaredLoss: sq / rows.length,
  });
}
