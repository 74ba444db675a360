/**
 * The verdict of a model over a period, and what changed since the previous period: pure functions
 * over gathered data with typed results. An absence of results is never "healthy": a period without
 * result documents is `no-data`, and says whether predictions were logged but not analyzed.
 */
import { meanOf } from './summary.js';
import type { Change, ModelPeriodData, PerformancePoint, Verdict } from './types.js';

/** Multivariate drift results (analyzer/multivariate.ts: `_multivariate.<method>`) that alarmed in a window. */
export function multivariateDrift(data: ModelPeriodData) {
  return data.features.filter((f) => f.feature.startsWith('_multivariate.') && f.drifted > 0);
}

/** Input features (not outputs, targets or attributions) that drifted in at least one window. */
export function driftedFeatures(data: ModelPeriodData) {
  return data.features.filter((f) => f.drifted > 0 && (f.kind === 'numeric' || f.kind === 'categorical'));
}

/** Windows whose realised performance was out of bounds; estimated only where nothing was realised. */
function degradedWindows(points: readonly PerformancePoint[]) {
  const realised = points.filter((p) => p.degraded === true);
  const estimated = points.filter((p) => p.degraded === null && p.estimatedDegraded === true);
  return { realised, estimated };
}

/** What each failed assumption of the label-free estimate means (`performance.estimated.failed_assumptions`). */
export const ASSUMPTION_WORDS: Record<string, string> = {
  calibration_drift: "the reference's score calibration no longer holds",
  prior_shift: 'the class balance moved (prior shift)',
  concept_drift: 'the relation between inputs and outcome changed (concept drift)',
};

/**
 * The windows whose label-free estimate the labels contradicted, and which assumption failed; null
 * when none was. Listed among the reasons but not a status of its own: the realised metrics of
 * those windows exist and are what the status is judged on.
 */
function contradictedEstimates(points: readonly PerformancePoint[]): string | null {
  const judged = points.filter((p) => typeof p.estimatedReliable === 'boolean');
  const failed = judged.filter((p) => p.estimatedReliable === false);
  if (failed.length === 0) return null;
  const why = [...new Set(failed.flatMap((p) => p.estimatedFailedAssumptions ?? []))].sort();
  return `label-free estimate contradicted by the labels in ${failed.length} of ${judged.length} windows${
    why.length > 0 ? `: ${why.map((w) => ASSUMPTION_WORDS[w] ?? w).join('; ')}` : ''
  }`;
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1)} %`;

export function verdictOf(data: ModelPeriodData): Verdict {
  const hasResults = data.drift.length + data.performance.length + data.service.length > 0;
  if (!hasResults) {
    const why =
      data.predictionsLogged > 0
        ? `${data.predictionsLogged} predictions were logged but no analysis results exist for this period (is the scheduler running?)`
        : 'no predictions and no analysis results in this period';
    return { status: 'no-data', sentence: `No data for ${data.model}: ${why}.`, reasons: [why] };
  }
  const reasons: string[] = [];
  const { realised, estimated } = degradedWindows(data.performance);
  const metrics = [...new Set(realised.flatMap((p) => p.degradedMetrics))];
  if (realised.length > 0)
    reasons.push(
      `performance out of bounds in ${realised.length} of ${data.performance.length} windows${metrics.length ? ` (${metrics.join(', ')})` : ''}`,
    );
  if (estimated.length > 0)
    reasons.push(`estimated performance (no labels yet) out of bounds in ${estimated.length} windows`);
  const drifted = driftedFeatures(data);
  const inputs = new Set(
    data.features.filter((f) => f.kind === 'numeric' || f.kind === 'categorical').map((f) => f.feature),
  );
  if (drifted.length > 0) {
    const top = drifted
      .slice(0, 3)
      .map((f) => `${f.feature} (${f.drifted}/${f.windows} windows)`)
      .join(', ');
    reasons.push(`${new Set(drifted.map((f) => f.feature)).size} of ${inputs.size} features drifted: ${top}`);
  }
  // Multivariate drift (issue 27): the joint distribution moved, though maybe no feature alone did.
  const joint = multivariateDrift(data);
  if (joint.length > 0)
    reasons.push(
      `the features' joint distribution drifted (${joint.map((f) => `${f.method} in ${f.drifted}/${f.windows} windows`).join(', ')})`,
    );
  const errorRate = data.serviceSummary.errorRate;
  if (errorRate !== null && errorRate > 0) reasons.push(`error rate ${pct(errorRate)}`);
  const contradicted = contradictedEstimates(data.performance);
  if (contradicted) reasons.push(contradicted);
  const status =
    realised.length + estimated.length > 0
      ? 'degraded'
      : drifted.length + joint.length > 0
        ? 'drifting'
        : 'healthy';
  const label = { degraded: 'degraded', drifting: 'drifting', healthy: 'healthy' }[status];
  const main = reasons.filter((r) => !r.startsWith('error rate') && !r.startsWith('label-free estimate'));
  const sentence =
    status === 'healthy'
      ? `${data.model} is healthy: no feature drifted and performance stayed within its bounds${
          data.performance.length === 0 ? ' (no performance results in this period)' : ''
        }.`
      : `${data.model} is ${label}: ${main.join('; ')}.`;
  return { status, sentence, reasons };
}

/** Mean of each realised metric over the period's windows. */
export function meanMetrics(points: readonly PerformancePoint[]): Record<string, number> {
  const names = new Set(points.flatMap((p) => Object.keys(p.realised)));
  const out: Record<string, number> = {};
  for (const n of [...names].sort()) {
    const m = meanOf(points.map((p) => p.realised[n]));
    if (m !== null) out[n] = m;
  }
  return out;
}

/** Metrics worth a line in "what changed" (confusion counts and per-class figures are not). */
export const HEADLINE_METRICS = [
  'accuracy',
  'f1',
  'f1_macro',
  'roc_auc',
  'precision',
  'recall',
  'rmse',
  'mae',
  'r2',
];

/** Relative change that is worth a line for volume and latency. */
const NOTABLE_RATIO = 0.2;

/** What changed between the previous period and this one. */
export function changesSince(current: ModelPeriodData, previous: ModelPeriodData | undefined): Change[] {
  const changes: Change[] = [];
  const hasResults = (d: ModelPeriodData) => d.drift.length + d.performance.length + d.service.length > 0;
  if (!previous || !hasResults(previous)) {
    if (hasResults(current))
      changes.push({ kind: 'new-data', text: 'No results in the previous period to compare with.' });
    return changes;
  }
  if (!hasResults(current)) {
    changes.push({ kind: 'no-data', text: 'The previous period had results; this one has none.' });
    return changes;
  }
  const driftedNow = new Set(driftedFeatures(current).map((f) => f.feature));
  const driftedBefore = new Set(driftedFeatures(previous).map((f) => f.feature));
  for (const f of [...driftedNow].sort())
    if (!driftedBefore.has(f))
      changes.push({ kind: 'started-drifting', feature: f, text: `${f} started drifting.` });
  const analyzedNow = new Set(current.features.map((f) => f.feature));
  for (const f of [...driftedBefore].sort())
    if (!driftedNow.has(f) && analyzedNow.has(f))
      changes.push({ kind: 'stopped-drifting', feature: f, text: `${f} no longer drifts.` });

  const before = meanMetrics(previous.performance);
  const after = meanMetrics(current.performance);
  for (const m of HEADLINE_METRICS) {
    const b = before[m];
    const a = after[m];
    if (b === undefined || a === undefined || a === b) continue;
    changes.push({
      kind: 'metric',
      text: `${m}: ${b.toFixed(3)} → ${a.toFixed(3)} (${a > b ? '+' : ''}${(a - b).toFixed(3)}).`,
      before: b,
      after: a,
    });
  }
  const eb = previous.serviceSummary.errorRate;
  const ea = current.serviceSummary.errorRate;
  if (eb !== null && ea !== null && eb !== ea)
    changes.push({ kind: 'error-rate', text: `error rate: ${pct(eb)} → ${pct(ea)}.`, before: eb, after: ea });
  const lb = previous.serviceSummary.maxP95;
  const la = current.serviceSummary.maxP95;
  if (lb !== null && la !== null && lb > 0 && Math.abs(la - lb) / lb >= NOTABLE_RATIO)
    changes.push({
      kind: 'latency-p95',
      text: `worst p95 latency: ${lb.toFixed(1)} ms → ${la.toFixed(1)} ms.`,
      before: lb,
      after: la,
    });
  const vb = previous.predictionsLogged;
  const va = current.predictionsLogged;
  if (vb > 0 && Math.abs(va - vb) / vb >= NOTABLE_RATIO)
    changes.push({ kind: 'volume', text: `predictions: ${vb} → ${va}.`, before: vb, after: va });
  return changes;
}
