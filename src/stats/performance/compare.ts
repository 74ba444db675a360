/**
 * Version comparison (A/B, champion/challenger) over the same period.
 *
 * Proportion metrics (accuracy, and any other metric that is "successes out of trials": recall is
 * tp out of tp + fn, precision tp out of tp + fp, positive rate, error rate) are compared with the
 * two-proportion z-test; mean errors of regressors with Welch's t-test, which does not assume equal
 * variances (two model versions rarely have them). Both take only counts, means and variances,
 * which the analyzer gets from aggregations per `model.version`.
 *
 * All differences are B − A, so a positive difference in accuracy means B is better, and a positive
 * difference in mean absolute error means B is worse.
 */
import {
  normalQuantile,
  normalTwoSidedPValue,
  studentTQuantile,
  studentTTwoSidedPValue,
} from './distributions.js';

/** `successes` out of `trials`. */
export interface Proportion {
  successes: number;
  trials: number;
}

/** A confidence interval [lower, upper]. */
export interface ConfidenceInterval {
  lower: number;
  upper: number;
  /** confidence level, e.g. 0.95 */
  level: number;
}

/** Result of {@link compareProportions}. */
export interface ProportionComparison {
  /** proportion of A; null when A has no trials */
  a: number | null;
  /** proportion of B; null when B has no trials */
  b: number | null;
  /** b − a; null when either side has no trials */
  difference: number | null;
  /** z statistic under H0 (pooled proportion); null when undefined (see pValue) */
  z: number | null;
  /**
   * Two-sided p-value of H0: equal proportions. null when either side is empty, or when the pooled
   * proportion is 0 or 1 (every trial of both versions failed, or every one succeeded: no variance,
   * nothing to test).
   */
  pValue: number | null;
  /** Wald interval for b − a with unpooled variances; null when either side is empty */
  ci: ConfidenceInterval | null;
}

function checkProportion(p: Proportion, name: string): void {
  if (!Number.isFinite(p.trials) || p.trials < 0) throw new RangeError(`${name}.trials must be >= 0`);
  if (!Number.isFinite(p.successes) || p.successes < 0 || p.successes > p.trials) {
    throw new RangeError(`${name}.successes must lie in [0, trials]`);
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
}

/**
 * Two-proportion z-test and confidence interval for the difference b − a.
 *
 * The test statistic uses the pooled proportion, which is the variance under H0 (equal
 * proportions); the interval uses each version's own variance (Wald), since under the alternative
 * the proportions differ. This is the textbook pairing; with the window sizes of production
 * monitoring (hundreds to millions of labels) the normal approximation is accurate, and for tiny
 * windows the result says so itself through a wide interval.
 */
export function compareProportions(a: Proportion, b: Proportion, level = 0.95): ProportionComparison {
  checkProportion(a, 'a');
  checkProportion(b, 'b');
  checkLevel(level);
  const pa = a.trials === 0 ? null : a.successes / a.trials;
  const pb = b.trials === 0 ? null : b.successes / b.trials;
  if (pa === null || pb === null) return { a: pa, b: pb, difference: null, z: null, pValue: null, ci: null };
  const difference = pb - pa;
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  const z = sePooled === 0 ? null : difference / sePooled;
  const pValue = z === null ? null : normalTwoSidedPValue(z);
  const se = Math.sqrt((pa * (1 - pa)) / a.trials + (pb * (1 - pb)) / b.trials);
  const half = normalQuantile(0.5 + level / 2) * se;
  return {
    a: pa,
    b: pb,
    difference,
    z,
    pValue,
    ci: { lower: difference - half, upper: difference + half, level },
  };
}

/** Count, mean and sample variance (divisor n − 1) of a quantity, e.g. the per-prediction error. */
export interface SampleSummary {
  n: number;
  mean: number;
  /** sample variance with divisor n − 1 (`variance_sampling` of an `extended_stats` aggregation) */
  variance: number;
}

/** Result of {@link compareMeans}. */
export interface MeanComparison {
  /** mean of B − mean of A; null when either side is empty */
  difference: number | null;
  /** Welch's t statistic; null when undefined (see pValue) */
  t: number | null;
  /** Welch–Satterthwaite degrees of freedom; null when undefined */
  df: number | null;
  /** two-sided p-value of H0: equal means; null when either n < 2 or both variances are 0 */
  pValue: number | null;
  /** confidence interval of the difference from the t distribution; null when pValue is null */
  ci: ConfidenceInterval | null;
}

/**
 * Welch's two-sample t-test from summaries, for the difference in mean error (or mean absolute
 * error, or mean squared error) between two versions: t = (m_b − m_a) / √(v_a/n_a + v_b/n_b),
 * df by Welch–Satterthwaite, p-value and interval from Student's t (see distributions.ts for why
 * those are written here).
 */
export function compareMeans(a: SampleSummary, b: SampleSummary, level = 0.95): MeanComparison {
  for (const [name, s] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (!Number.isFinite(s.n) || s.n < 0) throw new RangeError(`${name}.n must be >= 0`);
    if (s.n > 0 && !Number.isFinite(s.mean)) throw new RangeError(`${name}.mean must be finite`);
    if (s.n > 1 && !(s.variance >= 0 && Number.isFinite(s.variance))) {
      throw new RangeError(`${name}.variance must be finite and >= 0`);
    }
  }
  checkLevel(level);
  const difference = a.n > 0 && b.n > 0 ? b.mean - a.mean : null;
  const none = { difference, t: null, df: null, pValue: null, ci: null };
  if (difference === null || a.n < 2 || b.n < 2) return none;
  const qa = a.variance / a.n;
  const qb = b.variance / b.n;
  const se2 = qa + qb;
  if (se2 === 0) return none;
  const se = Math.sqrt(se2);
  const t = difference / se;
  const df = (se2 * se2) / ((qa * qa) / (a.n - 1) + (qb * qb) / (b.n - 1));
  const pValue = studentTTwoSidedPValue(t, df);
  const half = studentTQuantile(0.5 + level / 2, df) * se;
  return { difference, t, df, pValue, ci: { lower: difference - half, upper: difference + half, level } };
}

/** Count, mean and sample variance of raw values (offline mode, tests). */
export function summarize(values: readonly number[]): SampleSummary {
  const n = values.length;
  let mean = 0;
  for (const v of values) mean += v;
  mean = n === 0 ? NaN : mean / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { n, mean, variance: n < 2 ? NaN : ss / (n - 1) };
}
