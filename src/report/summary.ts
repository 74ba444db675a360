/**
 * Pure period summaries of result documents: a feature's windows taken together (drift, quality),
 * and service health over the period. No I/O; gather.ts feeds them what it read.
 */
import { isPValueMethod, type DriftMethod } from '../stats/drift/index.js';
import type { DriftRow, FeatureDrift, FeatureQuality, ServicePoint, ServiceSummary } from './types.js';

/** Score ÷ threshold, so that p-value methods (drift when below) and distances (drift when above) rank alike. */
export function driftSeverityRatio(score: number | null, threshold: number | null, method: string): number {
  if (score === null || threshold === null) return 0;
  // KS and chi-square decide on a p-value: smaller is worse.
  if (isPValueMethod(method as DriftMethod)) return score <= 0 ? Number.MAX_VALUE : threshold / score;
  return threshold > 0 ? score / threshold : score;
}

function key(version: string, feature: string): string {
  return JSON.stringify([version, feature]);
}

/** Per (version, feature): windows, windows drifted, worst and latest window; ranked most drifted first. */
export function summarizeDrift(rows: readonly DriftRow[]): FeatureDrift[] {
  const groups = new Map<string, DriftRow[]>();
  for (const r of rows) {
    const k = key(r.version, r.feature);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: FeatureDrift[] = [];
  for (const g of groups.values()) {
    const sorted = [...g].sort((a, b) => a.windowStart.localeCompare(b.windowStart));
    const first = sorted[0] as DriftRow;
    const latest = sorted[sorted.length - 1] as DriftRow;
    let worst = first;
    for (const r of sorted)
      if (
        driftSeverityRatio(r.score, r.threshold, r.method) >
        driftSeverityRatio(worst.score, worst.threshold, worst.method)
      )
        worst = r;
    let driftBegan: string | null = null;
    for (const [i, r] of sorted.entries())
      if (r.detected && !(sorted[i - 1]?.detected ?? false)) driftBegan = r.windowStart;
    const psis = sorted.map((r) => r.psi).filter((p): p is number => p !== null);
    out.push({
      version: first.version,
      feature: first.feature,
      kind: first.kind,
      windows: sorted.length,
      drifted: sorted.filter((r) => r.detected).length,
      worstScore: worst.score,
      worstThreshold: worst.threshold,
      worstWindowStart: worst.windowStart,
      method: worst.method,
      driftBegan,
      latestDetected: latest.detected,
      latestScore: latest.score,
      meanPsi: psis.length > 0 ? psis.reduce((s, p) => s + p, 0) / psis.length : null,
    });
  }
  return out.sort(
    (a, b) =>
      b.drifted / b.windows - a.drifted / a.windows ||
      driftSeverityRatio(b.worstScore, b.worstThreshold, b.method) -
        driftSeverityRatio(a.worstScore, a.worstThreshold, a.method) ||
      a.feature.localeCompare(b.feature),
  );
}

/** One quality result document, as gather.ts reads it. */
export interface QualityRow {
  version: string;
  feature: string;
  windowCount: number;
  missingRate: number | null;
  outOfRangeRate: number | null;
  unseenCategoryRate: number | null;
  typeMismatchRate: number | null;
  unexpected: boolean;
  newCategories: string[];
  /** `quality.severity` of the window (absent in documents written before issue 27) */
  severity?: string | null;
}

const SEVERITY_ORDER = ['none', 'low', 'medium', 'high'];

/** Weighted mean of the non-null values (weight: the window's predictions; equal weights when all are 0). */
function weightedMean(values: Array<{ value: number | null; weight: number }>): number | null {
  const present = values.filter((v): v is { value: number; weight: number } => v.value !== null);
  if (present.length === 0) return null;
  const total = present.reduce((s, v) => s + v.weight, 0);
  if (total === 0) return present.reduce((s, v) => s + v.value, 0) / present.length;
  return present.reduce((s, v) => s + v.value * v.weight, 0) / total;
}

/** Per (version, feature): rates over the period weighted by predictions per window; worst rate first. */
export function summarizeQuality(rows: readonly QualityRow[]): FeatureQuality[] {
  const groups = new Map<string, QualityRow[]>();
  for (const r of rows) {
    const k = key(r.version, r.feature);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: FeatureQuality[] = [];
  for (const g of groups.values()) {
    const w = (pick: (r: QualityRow) => number | null) =>
      weightedMean(g.map((r) => ({ value: pick(r), weight: r.windowCount })));
    const newCategories: string[] = [];
    for (const r of g) for (const c of r.newCategories) if (!newCategories.includes(c)) newCategories.push(c);
    out.push({
      version: (g[0] as QualityRow).version,
      feature: (g[0] as QualityRow).feature,
      windows: g.length,
      missingRate: w((r) => r.missingRate),
      outOfRangeRate: w((r) => r.outOfRangeRate),
      unseenCategoryRate: w((r) => r.unseenCategoryRate),
      typeMismatchRate: w((r) => r.typeMismatchRate),
      unexpected: g.some((r) => r.unexpected),
      newCategories,
      worstSeverity:
        g
          .map((r) => r.severity ?? null)
          .filter((x): x is string => x !== null && SEVERITY_ORDER.includes(x))
          .sort((a, b) => SEVERITY_ORDER.indexOf(b) - SEVERITY_ORDER.indexOf(a))[0] ?? null,
    });
  }
  const worst = (q: FeatureQuality) =>
    Math.max(q.missingRate ?? 0, q.outOfRangeRate ?? 0, q.unseenCategoryRate ?? 0, q.typeMismatchRate ?? 0);
  return out.sort((a, b) => worst(b) - worst(a) || a.feature.localeCompare(b.feature));
}

/** Predictions, errors and the worst window latencies over the period. */
export function summarizeService(points: readonly ServicePoint[]): ServiceSummary {
  const predictions = points.reduce((s, p) => s + p.count, 0);
  // Documents without `service.errors` (older analyzers) give their errors as rate × count.
  const errors = points.reduce((s, p) => s + (p.errors ?? Math.round((p.errorRate ?? 0) * p.count)), 0);
  const max = (values: Array<number | null>): number | null => {
    const present = values.filter((v): v is number => v !== null);
    return present.length > 0 ? Math.max(...present) : null;
  };
  return {
    predictions,
    errors,
    errorRate: predictions > 0 ? errors / predictions : null,
    maxP95: max(points.map((p) => p.p95)),
    maxP99: max(points.map((p) => p.p99)),
  };
}

/** Mean of a metric over the points that have it; null when none has. */
export function meanOf(values: Array<number | undefined | null>): number | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return present.length > 0 ? present.reduce((s, v) => s + v, 0) / present.length : null;
}
