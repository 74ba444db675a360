import { DriftInputError } from './errors.js';

export type FeatureKind = 'numeric' | 'categorical';
/** Which statistic decides drift. 'ks' and 'chi2' are decided on their p-values. */
export type DriftMethod = 'wasserstein' | 'ks' | 'psi' | 'js' | 'chi2';
export type DriftSeverity = 'none' | 'low' | 'medium' | 'high';

/** Per-feature override of the default rule. */
export interface DriftConfig {
  method?: DriftMethod;
  threshold?: number;
}

/** Statistics a decision can use, named as in the result documents (`drift.*`). */
export interface DriftStats {
  psi?: number;
  ks?: number;
  ks_pvalue?: number;
  wasserstein?: number;
  js?: number;
  chi2_pvalue?: number;
}

export interface DriftDecision {
  method: DriftMethod;
  /** The value compared with the threshold: a distance, or a p-value for 'ks' / 'chi2'. */
  score: number;
  threshold: number;
  detected: boolean;
  severity: DriftSeverity;
}

/** Default threshold per method (DESIGN.md; PSI 0.1 as the peer tool). */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  wasserstein: 0.1,
  ks: 0.05,
  psi: 0.1,
  js: 0.1,
  chi2: 0.05,
};

/** Sample size above which (on both sides) distances replace tests: tests flag trivial shifts on big samples. */
export const LARGE_SAMPLE_SIZE = 1000;

const ALLOWED: Readonly<Record<FeatureKind, readonly DriftMethod[]>> = {
  numeric: ['wasserstein', 'ks', 'psi'],
  categorical: ['js', 'chi2', 'psi'],
};

export function isPValueMethod(method: DriftMethod): boolean {
  return method === 'ks' || method === 'chi2';
}

/**
 * DESIGN.md's default: numeric → normalised Wasserstein when both sides have more than 1000
 * values, else KS; categorical → Jensen–Shannon when both have more than 1000, else chi-square.
 */
export function defaultMethod(kind: FeatureKind, referenceCount: number, currentCount: number): DriftMethod {
  const large = referenceCount > LARGE_SAMPLE_SIZE && currentCount > LARGE_SAMPLE_SIZE;
  if (kind === 'numeric') return large ? 'wasserstein' : 'ks';
  return large ? 'js' : 'chi2';
}

/**
 * Apply the decision rule. Distances drift at score ≥ threshold; p-values at score < threshold.
 *
 * Severity says how far past the threshold the score is:
 * - distances (wasserstein, psi, js), r = score / threshold: none r < 1, low 1 ≤ r < 2,
 *   medium 2 ≤ r < 4, high r ≥ 4 (for PSI at 0.1 that puts the classic "significant" 0.25 in medium);
 * - p-values (ks, chi2), by decades below the threshold t: none p ≥ t, low t/10 ≤ p < t,
 *   medium t/1000 ≤ p < t/10, high p < t/1000.
 * Throws {@link DriftInputError} when the method does not suit the kind or its statistic is absent.
 */
export function decideDrift(
  kind: FeatureKind,
  stats: DriftStats,
  counts: { reference: number; current: number },
  config: DriftConfig = {},
): DriftDecision {
  const method = config.method ?? defaultMethod(kind, counts.reference, counts.current);
  if (!ALLOWED[kind].includes(method)) {
    throw new DriftInputError(`drift method '${method}' does not apply to a ${kind} feature`);
  }
  const threshold = config.threshold ?? DEFAULT_THRESHOLDS[method];
  if (!(Number.isFinite(threshold) && threshold > 0)) {
    throw new DriftInputError(`drift threshold must be a positive number, got ${threshold}`);
  }
  const score = scoreOf(method, stats);
  if (score === undefined || Number.isNaN(score)) {
    throw new DriftInputError(`statistic for drift method '${method}' is missing`);
  }
  const pValue = isPValueMethod(method);
  const detected = pValue ? score < threshold : score >= threshold;
  return { method, score, threshold, detected, severity: severityOf(pValue, score, threshold) };
}

function scoreOf(method: DriftMethod, s: DriftStats): number | undefined {
  switch (method) {
    case 'wasserstein':
      return s.wasserstein;
    case 'ks':
      return s.ks_pvalue;
    case 'psi':
      return s.psi;
    case 'js':
      return s.js;
    case 'chi2':
      return s.chi2_pvalue;
  }
}

function severityOf(pValue: boolean, score: number, threshold: number): DriftSeverity {
  if (pValue) {
    if (score >= threshold) return 'none';
    if (score >= threshold / 10) return 'low';
    if (score >= threshold / 1000) return 'medium';
    return 'high';
  }
  const r = score / threshold;
  if (r < 1) return 'none';
  if (r < 2) return 'low';
  if (r < 4) return 'medium';
  return 'high';
}
