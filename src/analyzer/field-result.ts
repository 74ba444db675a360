/**
 * What the analysis says of one field in one window (the `feature` part of a result document,
 * DESIGN.md), and the verdicts every field result goes through whatever its kind: the quality
 * severity, the type-mismatch note, the truth that arrives apart. Read out of the window answer by
 * evaluate.ts; written by results.ts.
 */
import type { DriftDecision } from '../stats/drift/index.js';
import type { FieldRole, ValueKind } from '../schema/fields.js';
/** `feature.kind` in result documents (DESIGN.md), extended with `target`. */
export type ResultKind = 'numeric' | 'categorical' | 'prediction' | 'target' | 'explanation';

export function resultKind(role: FieldRole, kind: ValueKind): ResultKind {
  if (role === 'feature') return kind;
  return role;
}

export interface DriftResult {
  psi: number | null;
  ks?: number | null;
  ks_pvalue?: number | null;
  /** Upper bound of (exact KS − binned KS): the largest min(reference share, window share) of one bin. */
  ks_error_bound?: number | null;
  /** Sampled windows: expected error of `wasserstein` from sampling alone (J1/√n ÷ reference std). */
  wasserstein_sampling_error?: number;
  wasserstein?: number | null;
  js?: number | null;
  chi2_pvalue?: number | null;
  mean_shift_z?: number | null;
  method: DriftDecision['method'];
  score: number;
  threshold: number;
  detected: boolean;
  severity: DriftDecision['severity'];
  /**
   * The distributions the decision compared, for drawing reference against window: numeric fields
   * by the PSI bins (the reference deciles), categorical fields by category; shares of each side.
   */
  bins?: DriftBin[];
}

/** One bin of {@link DriftResult.bins}: its label, its place on the axis, and the two shares. */
export interface DriftBin {
  order: number;
  label: string;
  reference: number;
  current: number;
}

/**
 * Reference and window shares per bin. Numeric: `edges` are the inner edges, so the first bin is
 * everything below the first edge and the last everything from the last edge up; categorical:
 * `labels` name the categories.
 */
export function driftBins(
  labels: readonly string[],
  reference: readonly number[],
  current: readonly number[],
): DriftBin[] {
  const total = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
  const r = total(reference);
  const c = total(current);
  return labels.map((label, order) => ({
    order,
    label,
    reference: r > 0 ? (reference[order] ?? 0) / r : 0,
    current: c > 0 ? (current[order] ?? 0) / c : 0,
  }));
}

export interface ConceptSample {
  probability: number;
  documents: number;
  /** Standard error of the window correlation from the sample: (1 − r²) / √(n − 1). */
  standard_error: number | null;
}

export interface ConceptResult {
  output: string;
  method: string;
  reference_correlation: number;
  window_correlation: number | null;
  change: number | null;
  threshold: number;
  detected: boolean;
  /** Present when the correlation came from a sample of the window. */
  sample?: ConceptSample;
}

/**
 * A target field (`actual.*`) that no prediction of the window carries is how mlmon works, not
 * missing data: outcomes arrive apart (`logOutcome`, the outcome stream) and are joined to their
 * predictions later, so a missing rate of 100 % every window would be a false quality finding. Its
 * rate is left out (absent, not 0) and a note says why. A service that logs the truth on the
 * prediction itself keeps its rate.
 */
export function outcomesApart(result: FieldResult): FieldResult {
  if (result.role !== 'target' || result.count > 0) return result;
  const { missing_rate: _notAFinding, ...quality } = result.quality;
  return {
    ...result,
    quality,
    // in place of "no values in the window", which for the truth is expected
    note: 'outcomes arrive apart (the outcome stream), not on predictions: not counted missing',
  };
}

export interface QualityResult {
  /**
   * Share of the window's predictions without the field. Absent for a target field (`actual.*`)
   * that no prediction of the window carries: see {@link outcomesApart}.
   */
  missing_rate?: number;
  /** Share of the present values outside the reference [min, max] (numeric). */
  out_of_range_rate?: number;
  /** Share of the present values in categories the reference never had (categorical; upper bound if the reference list was truncated). */
  unseen_category_rate?: number;
  type_mismatch_rate: number;
  /** The worst rate as a severity ({@link qualitySeverity}); set for every field of the reference. */
  severity?: QualitySeverity;
  /** The field's name when the field is absent from the reference. */
  unexpected_feature?: string;
}

export interface FieldResult {
  name: string;
  field: string;
  role: FieldRole;
  kind: ResultKind;
  type: ValueKind;
  /** Documents (numeric: values) with the field in the window. */
  count: number;
  drift?: DriftResult;
  concept?: ConceptResult;
  quality: QualityResult;
  /** Why there is no drift result, when there is none. */
  note?: string;
  /** New categories seen in the window (up to 10), for the report. */
  new_categories?: string[];
}

/** How bad a field's data quality is in a window: the worst of its rates, see {@link qualitySeverity}. */
export type QualitySeverity = 'none' | 'low' | 'medium' | 'high';

/**
 * The worst of a field's quality rates (missing, out of range, unseen category, type mismatch) as a
 * severity: ≥ 10 % high, ≥ 1 % medium, above 0 low. Stored with the rates (`quality.severity`) for
 * dashboards and the report; the alert rule fires on the rates against its own threshold
 * (kibana/rules.ts, prometheus/mlmon.rules.yml).
 */
export function qualitySeverity(q: QualityResult): QualitySeverity {
  const worst = Math.max(
    q.missing_rate ?? 0,
    q.out_of_range_rate ?? 0,
    q.unseen_category_rate ?? 0,
    q.type_mismatch_rate,
  );
  return worst >= 0.1 ? 'high' : worst >= 0.01 ? 'medium' : worst > 0 ? 'low' : 'none';
}

/**
 * Values of another type than the reference's (a string where the reference had numbers, counted
 * by the logger in `mlmon.quality.type_mismatch`) are a data-quality finding, not drift (issue 27):
 * before, any mismatch set `drift.detected` and one malformed row in a window fired the drift rule.
 * The drift verdict stays the statistics' of the values that parsed; the rate, its severity
 * ({@link qualitySeverity}) and a note go with the quality result, whose rule fires above its
 * threshold.
 */
export function typeMismatchVerdict(result: FieldResult): FieldResult {
  const quality = { ...result.quality, severity: qualitySeverity(result.quality) };
  const rate = result.quality.type_mismatch_rate;
  if (!(rate > 0)) return { ...result, quality };
  const note = `${(rate * 100).toPrecision(3)} % of the values have another type than the reference's`;
  return { ...result, quality, note: result.note ? `${result.note}; ${note}` : note };
}
