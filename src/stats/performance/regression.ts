/**
 * Regression metrics from sufficient statistics.
 *
 * RMSE, MAE, MAPE and R² are all functions of a handful of sums, and sums are what Elasticsearch
 * aggregations return (and what merges across shards and windows). Without scripting, the join step
 * stores per-prediction `err = prediction − actual`, `|err|`, `err²` and (when actual ≠ 0)
 * `|err / actual|` on the evaluation document; the analyzer sums them, and takes Σy, Σy² from a
 * `stats`/`extended_stats` aggregation on the actual value.
 */
import { assertSameLength } from './binary.js';

/** Sufficient statistics of a regression window. err = prediction − actual. */
export interface RegressionSums {
  /** number of labelled predictions */
  n: number;
  /** Σ err (signed; gives the mean error, i.e. bias) */
  sumError: number;
  /** Σ |err| */
  sumAbsError: number;
  /** Σ err² */
  sumSquaredError: number;
  /** Σ |err / actual| over predictions whose actual ≠ 0 */
  sumAbsPercentageError: number;
  /** how many predictions had actual ≠ 0 (the MAPE denominator) */
  nonZeroActualCount: number;
  /** Σ (actual − actualShift) */
  sumActual: number;
  /** Σ (actual − actualShift)² */
  sumSquaredActual: number;
  /**
   * Optional constant subtracted from every actual before summing (default 0). The total sum of
   * squares Σ(y − ȳ)² = Σy² − (Σy)²/n is shift-invariant but cancels catastrophically when |ȳ| is
   * large against the spread (relative error ≈ 1e-16 · Σy² / SST); summing y − c with c near ȳ (for
   * instance the reference mean) removes the problem. MAPE is unaffected: it uses its own sum.
   */
  actualShift?: number;
}

/** Result of {@link regressionMetrics}; every field is null when n = 0. */
export interface RegressionMetrics {
  n: number;
  /** √(Σerr² / n) */
  rmse: number | null;
  /** Σ|err| / n */
  mae: number | null;
  /**
   * Mean of |err / actual| over actual ≠ 0, as a fraction (0.1 = 10 %), like sklearn's
   * `mean_absolute_percentage_error`. Predictions with actual = 0 are left out instead of dividing
   * by a tiny epsilon (sklearn), which would let one zero dominate the window; null when every actual
   * is 0.
   */
  mape: number | null;
  /** how many predictions were left out of MAPE because their actual was 0 */
  mapeExcluded: number;
  /**
   * 1 − SSE/SST with SST = Σ(y − ȳ)². null when SST = 0 (a constant target, including n = 1):
   * R² is undefined there (sklearn reports 1 or 0 by convention, which would read as a perfect or a
   * useless model on what is only a degenerate window).
   */
  r2: number | null;
  /** Σerr / n: positive when the model over-predicts on average */
  meanError: number | null;
}

function checkFinite(name: string, v: number): void {
  if (!Number.isFinite(v)) throw new RangeError(`${name} must be finite, got ${v}`);
}

/** RMSE, MAE, MAPE, R² and mean error from {@link RegressionSums}. */
export function regressionMetrics(s: RegressionSums): RegressionMetrics {
  for (const [k, v] of Object.entries(s)) if (v !== undefined) checkFinite(k, v as number);
  if (s.n < 0 || s.nonZeroActualCount < 0 || s.nonZeroActualCount > s.n) {
    throw new RangeError('regressionMetrics: counts out of range');
  }
  const n = s.n;
  const mapeExcluded = n - s.nonZeroActualCount;
  if (n === 0) {
    return { n, rmse: null, mae: null, mape: null, mapeExcluded, r2: null, meanError: null };
  }
  const sst = Math.max(0, s.sumSquaredActual - (s.sumActual * s.sumActual) / n);
  return {
    n,
    rmse: Math.sqrt(s.sumSquaredError / n),
    mae: s.sumAbsError / n,
    mape: s.nonZeroActualCount === 0 ? null : s.sumAbsPercentageError / s.nonZeroActualCount,
    mapeExcluded,
    r2: sst === 0 ? null : 1 - s.sumSquaredError / sst,
    meanError: s.sumError / n,
  };
}

/**
 * Sufficient statistics from raw arrays. The actuals are shifted by their own mean (two passes), so
 * R² from these sums is as accurate as the textbook two-pass formula.
 */
export function regressionSums(actual: readonly number[], predicted: readonly number[]): RegressionSums {
  assertSameLength(actual, predicted, 'regressionSums');
  let mean = 0;
  for (const y of actual) {
    checkFinite('actual', y);
    mean += y;
  }
  mean = actual.length === 0 ? 0 : mean / actual.length;
  const s: RegressionSums = {
    n: actual.length,
    sumError: 0,
    sumAbsError: 0,
    sumSquaredError: 0,
    sumAbsPercentageError: 0,
    nonZeroActualCount: 0,
    sumActual: 0,
    sumSquaredActual: 0,
    actualShift: mean,
  };
  for (let i = 0; i < actual.length; i++) {
    const y = actual[i] as number;
    const p = predicted[i] as number;
    checkFinite('predicted', p);
    const err = p - y;
    s.sumError += err;
    s.sumAbsError += Math.abs(err);
    s.sumSquaredError += err * err;
    if (y !== 0) {
      s.sumAbsPercentageError += Math.abs(err / y);
      s.nonZeroActualCount++;
    }
    const d = y - mean;
    s.sumActual += d;
    s.sumSquaredActual += d * d;
  }
  return s;
}

/** RMSE, MAE, MAPE, R² from raw actual and predicted values. */
export function regressionMetricsFromArrays(
  actual: readonly number[],
  predicted: readonly number[],
): RegressionMetrics {
  return regressionMetrics(regressionSums(actual, predicted));
}

/** Σ and Σ² of (actual − shift) over one group of actuals that share one shift. */
export interface ShiftedActualGroup {
  n: number;
  shift: number;
  /** Σ (y − shift) */
  sum: number;
  /** Σ (y − shift)² */
  sumOfSquares: number;
}

/**
 * Pools groups summed about different shifts into the `sumActual`, `sumSquaredActual` and
 * `actualShift` of {@link RegressionSums}, shifted by the pooled mean: each group's
 * M2 = Σ(y − c)² − (Σ(y − c))²/n is taken near its own mean, and the groups are combined as in Chan,
 * Golub and LeVeque's parallel variance, M2 = Σ M2_g + Σ n_g (ȳ_g − ȳ)². Groups with n = 0 are skipped.
 */
export function pooledActualSums(
  groups: readonly ShiftedActualGroup[],
): Pick<RegressionSums, 'sumActual' | 'sumSquaredActual' | 'actualShift'> {
  const live = groups.filter((g) => g.n > 0);
  const n = live.reduce((s, g) => s + g.n, 0);
  if (n === 0) return { sumActual: 0, sumSquaredActual: 0, actualShift: 0 };
  // The pooled mean about the first group's shift, so that it too is summed near the data.
  const c0 = (live[0] as ShiftedActualGroup).shift;
  const meanOffset = live.reduce((s, g) => s + (g.shift - c0) * g.n + g.sum, 0) / n;
  let m2 = 0;
  for (const g of live) {
    const groupOffset = g.shift - c0 + g.sum / g.n;
    m2 += Math.max(0, g.sumOfSquares - (g.sum * g.sum) / g.n) + g.n * (groupOffset - meanOffset) ** 2;
  }
  return { sumActual: 0, sumSquaredActual: m2, actualShift: c0 + meanOffset };
}
