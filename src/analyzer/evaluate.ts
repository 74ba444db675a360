/**
 * From one window's aggregation answer and the reference profile to per-field drift, concept-drift
 * and quality results. No I/O: the request is built here too (`windowAggregations`) so that the
 * request and the reading of its answer stay side by side.
 */
import {
  categoricalDrift,
  decideDrift,
  ksFromBinnedCounts,
  meanShiftZ,
  psiFromCounts,
  WASSERSTEIN_STD_FLOOR,
  type DriftConfig,
  type DriftDecision,
} from '../stats/drift/index.js';
import { CORRELATION_CHANGE_THRESHOLD } from '../stats/correlation.js';
import { wassersteinFromMomentBins } from '../stats/wasserstein-moments.js';
import { binnedFromBuckets, matrixCorrelation } from '../profiles/from-elasticsearch.js';
import {
  OTHER_CATEGORY,
  categoryCountsOf,
  decileCounts,
  edgesContain,
  fieldOf,
  nextUp,
  type FieldRole,
  type MonitoredCategoricalProfile,
  type MonitoredFeatureProfile,
  type MonitoredNumericProfile,
  type ValueKind,
} from '../profiles/profile.js';
import type { DatasetProfile } from '../profiles/types.js';
import {
  type AggRequest,
  type ExtendedStats,
  bucketKey,
  docCount,
  rangeCounts,
  rangeOverEdges,
  sub,
  termsBuckets,
} from './aggs.js';
import type { MonitoredField } from './source.js';

/** New categories listed one by one in a window; beyond this they are lumped together. */
export const NEW_CATEGORIES_LISTED = 1000;
/** Key of the lumped new categories (beyond NEW_CATEGORIES_LISTED). */
export const OTHER_NEW_CATEGORY = '\u0000other-new';

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
  wasserstein?: number | null;
  js?: number | null;
  chi2_pvalue?: number | null;
  mean_shift_z?: number | null;
  method: DriftDecision['method'];
  score: number;
  threshold: number;
  detected: boolean;
  severity: DriftDecision['severity'];
}

export interface ConceptResult {
  output: string;
  method: string;
  reference_correlation: number;
  window_correlation: number | null;
  change: number | null;
  threshold: number;
  detected: boolean;
}

export interface QualityResult {
  missing_rate: number;
  /** Share of the present values outside the reference [min, max] (numeric). */
  out_of_range_rate?: number;
  /** Share of the present values in categories the reference never had (categorical; upper bound if the reference list was truncated). */
  unseen_category_rate?: number;
  type_mismatch_rate: number;
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

export interface WindowRequestPlan {
  aggs: AggRequest;
  /** Fields in the window's mapping that the reference does not have. */
  unexpected: MonitoredField[];
  output?: string;
  correlation: 'matrix_stats' | 'binned' | 'none';
}

/**
 * All fields of a window in one size-0 request: per numeric field a `range` over the profile's
 * fine edges (with per-bin `avg(x)` and `stats(output)` for the binned correlation), `extended_stats`
 * and `missing`; per categorical field `terms` restricted to the reference categories (exact counts),
 * `terms` excluding them (new categories) and `missing`; `terms` on `mlmon.quality.type_mismatch`;
 * `missing` on each unexpected field.
 */
export function windowAggregations(
  profile: DatasetProfile,
  windowFields: readonly MonitoredField[],
  options: { matrixStats: boolean },
): WindowRequestPlan {
  const aggs: AggRequest = {};
  const entries = profileEntries(profile);
  const known = new Set(entries.map((e) => e.field));
  const correlated = entries.filter(
    (e) => e.profile.kind === 'numeric' && e.profile.outputCorrelation !== undefined,
  );
  const output = correlated[0]?.profile.outputCorrelation?.field;
  const correlation = output === undefined ? 'none' : options.matrixStats ? 'matrix_stats' : 'binned';
  entries.forEach(({ field, profile: f }, i) => {
    aggs[`m${i}`] = { missing: { field } };
    if (f.kind === 'numeric') {
      aggs[`s${i}`] = { extended_stats: { field } };
      if (f.count > 0 && f.min !== null && f.max !== null) {
        const range = rangeOverEdges(field, f.edges);
        // Mean per bin for the binned Wasserstein; output per bin for the binned correlation.
        const subAggs: AggRequest = { x: { avg: { field } } };
        if (correlation === 'binned' && f.outputCorrelation) subAggs.y = { stats: { field: output } };
        range.aggs = subAggs;
        aggs[`r${i}`] = range;
        // Out of the reference range: below its minimum, or at or above the next double after its maximum.
        aggs[`o${i}`] = rangeOverEdges(field, [f.min, nextUp(f.max)]);
        // PSI bins nest in the fine bins when the deciles are among the fine edges (always for
        // profiles built here or from files); otherwise they need their own range.
        if (!edgesContain(f.edges, f.psiEdges)) aggs[`q${i}`] = rangeOverEdges(field, f.psiEdges);
      }
    } else {
      const cats = Object.keys(f.categories);
      if (cats.length > 0) aggs[`k${i}`] = { terms: { field, include: cats, size: cats.length } };
      aggs[`u${i}`] = {
        terms: { field, size: NEW_CATEGORIES_LISTED, ...(cats.length > 0 ? { exclude: cats } : {}) },
      };
    }
  });
  const names = [...new Set(entries.flatMap((e) => [e.name, e.field]))];
  aggs.tm = { terms: { field: 'mlmon.quality.type_mismatch', include: names, size: names.length } };
  const unexpected = windowFields.filter((f) => !known.has(f.field));
  unexpected.forEach((f, j) => {
    aggs[`e${j}`] = { missing: { field: f.field } };
  });
  if (correlation === 'matrix_stats' && output) {
    aggs.corr = { matrix_stats: { fields: [...correlated.map((e) => e.field), output] } };
  }
  if (correlation === 'binned' && output) aggs.ys = { extended_stats: { field: output } };
  return { aggs, unexpected, output, correlation };
}

export interface ProfileEntry {
  name: string;
  field: string;
  role: FieldRole;
  profile: MonitoredFeatureProfile;
}

/** The profile's entries in a fixed order (the request's aggregation names are their positions). */
export function profileEntries(profile: DatasetProfile): ProfileEntry[] {
  return Object.entries(profile.features).map(([name, p]) => ({ name, ...fieldOf(name, p), profile: p }));
}

export interface EvaluateOptions {
  /** Per-field override of the decision rule, by result name or field. */
  config?: Record<string, DriftConfig>;
  correlationThreshold?: number;
  /** Sampling probability when the window was sampled (counts are then of the sample). */
  sampleProbability?: number;
}

/** Read a window's answer into per-field results. `total` is the number of documents in the window. */
export function evaluateWindow(
  profile: DatasetProfile,
  plan: WindowRequestPlan,
  aggs: unknown,
  total: number,
  options: EvaluateOptions = {},
): FieldResult[] {
  const mismatches = new Map(termsBuckets(aggs, 'tm').buckets.map((b) => [bucketKey(b), b.doc_count]));
  const outputStd = plan.correlation === 'binned' ? (sub<ExtendedStats>(aggs, 'ys').std_deviation ?? 0) : 0;
  const results: FieldResult[] = profileEntries(profile).map((entry, i) => {
    const f = entry;
    const missing = docCount(aggs, `m${i}`);
    const typeMismatch =
      (mismatches.get(f.name) ?? 0) + (f.name !== f.field ? (mismatches.get(f.field) ?? 0) : 0);
    const quality: QualityResult = {
      missing_rate: total > 0 ? missing / total : 0,
      type_mismatch_rate: total > 0 ? typeMismatch / total : 0,
    };
    const config = options.config?.[f.name] ?? options.config?.[f.field];
    return f.profile.kind === 'numeric'
      ? numericResult(
          entry,
          entry.profile as MonitoredNumericProfile,
          i,
          aggs,
          quality,
          config,
          { ...plan, outputStd },
          options,
        )
      : categoricalResult(
          entry,
          entry.profile as MonitoredCategoricalProfile,
          i,
          aggs,
          quality,
          config,
          options.sampleProbability ?? 1,
        );
  });
  plan.unexpected.forEach((f, j) => {
    const present = total - docCount(aggs, `e${j}`);
    if (present <= 0) return;
    results.push({
      name: f.name,
      field: f.field,
      role: f.role,
      kind: resultKind(f.role, f.kind),
      type: f.kind,
      count: present,
      quality: {
        missing_rate: (total - present) / total,
        type_mismatch_rate: 0,
        unexpected_feature: f.name,
      },
      note: 'not in the reference',
    });
  });
  return results;
}

function base(e: ProfileEntry, count: number, quality: QualityResult): FieldResult {
  const type = e.profile.kind;
  return { name: e.name, field: e.field, role: e.role, kind: resultKind(e.role, type), type, count, quality };
}

function numericResult(
  e: ProfileEntry,
  f: MonitoredNumericProfile,
  i: number,
  aggs: unknown,
  quality: QualityResult,
  config: DriftConfig | undefined,
  plan: WindowRequestPlan & { outputStd: number },
  options: EvaluateOptions,
): FieldResult {
  const stats = sub<ExtendedStats>(aggs, `s${i}`);
  const result = base(e, stats.count, quality);
  if (f.count === 0 || f.min === null || f.max === null || f.mean === null || f.std === null) {
    return { ...result, note: 'no values in the reference' };
  }
  const buckets = rangeCounts(sub(aggs, `r${i}`), f.edges.length + 1);
  // Sampled counts are scaled estimates; the statistics need integer counts of what was seen.
  const scale = options.sampleProbability ?? 1;
  const current = buckets.map((b) => Math.round(b.doc_count * scale));
  const present = current.reduce((s, c) => s + c, 0);
  const outside = rangeCounts(sub(aggs, `o${i}`), 3).map((b) => Math.round(b.doc_count * scale));
  result.quality.out_of_range_rate =
    present > 0 ? ((outside[0] as number) + (outside[2] as number)) / present : 0;
  if (present === 0 || stats.min === null || stats.max === null || stats.avg === null) {
    return { ...result, note: 'no values in the window' };
  }
  const currentPsi = edgesContain(f.edges, f.psiEdges)
    ? decileCounts(f.psiEdges, f.edges, current)
    : rangeCounts(sub(aggs, `q${i}`), f.psiEdges.length + 1).map((b) => Math.round(b.doc_count * scale));
  const psi = psiFromCounts(f.psiCounts, currentPsi);
  const ks = ksFromBinnedCounts(f.edges, f.counts, current);
  const distance = wassersteinFromMomentBins(
    f.edges,
    { counts: f.counts, means: f.binMeans ?? [] },
    {
      counts: current,
      means: buckets.map((b) => (b.x as { value: number | null } | undefined)?.value ?? null),
    },
    Math.min(f.min, stats.min),
    Math.max(f.max, stats.max, f.edges[f.edges.length - 1] ?? f.max),
  );
  const w = { normalized: distance / Math.max(f.std, WASSERSTEIN_STD_FLOOR) };
  const z = meanShiftZ({ mean: f.mean, std: f.std }, { mean: stats.avg, count: present });
  const drift = { psi, ks: ks.statistic, ks_pvalue: ks.pvalue, wasserstein: w.normalized };
  const decision = decideDrift('numeric', drift, { reference: f.count, current: present }, config);
  result.drift = {
    ...drift,
    ks_error_bound: ksErrorBound(f.counts, current),
    mean_shift_z: Number.isFinite(z) ? z : null,
    ...decision,
  };
  if (f.outputCorrelation && plan.output) {
    const windowCorrelation =
      plan.correlation === 'matrix_stats'
        ? matrixCorrelation(aggs, e.field, plan.output)
        : binnedFromBuckets(buckets, stats.std_deviation ?? 0, plan.outputStd);
    const threshold = options.correlationThreshold ?? CORRELATION_CHANGE_THRESHOLD;
    const change = Number.isFinite(windowCorrelation) ? windowCorrelation - f.outputCorrelation.value : null;
    result.concept = {
      output: plan.output,
      method: plan.correlation,
      reference_correlation: f.outputCorrelation.value,
      window_correlation: Number.isFinite(windowCorrelation) ? windowCorrelation : null,
      change,
      threshold,
      detected: change !== null && Math.abs(change) >= threshold,
    };
  }
  return result;
}

/**
 * Inside one bin both empirical CDFs rise by at most that bin's share, so the largest CDF gap
 * inside a bin exceeds the gap at its edges by at most min(reference share, window share). The
 * maximum over bins bounds exact KS − binned KS; with percentile bins the reference share is ≤ 1 %
 * (atoms, which hold more, are bins of a single value and add no error).
 */
export function ksErrorBound(reference: readonly number[], current: readonly number[]): number {
  const n1 = reference.reduce((s, c) => s + c, 0);
  const n2 = current.reduce((s, c) => s + c, 0);
  let bound = 0;
  for (let b = 0; b < reference.length; b++) {
    const m = Math.min((reference[b] as number) / n1, (current[b] as number) / n2);
    if (m > bound) bound = m;
  }
  return bound;
}

function categoricalResult(
  e: ProfileEntry,
  f: MonitoredCategoricalProfile,
  i: number,
  aggs: unknown,
  quality: QualityResult,
  config: DriftConfig | undefined,
  scale: number,
): FieldResult {
  const reference = categoryCountsOf(f);
  const truncated = f.otherCount > 0;
  const current = new Map<string, number>();
  const known = Object.keys(f.categories).length > 0 ? termsBuckets(aggs, `k${i}`).buckets : [];
  for (const c of Object.keys(f.categories)) current.set(c, 0);
  for (const b of known) current.set(bucketKey(b), Math.round(b.doc_count * scale));
  const fresh = termsBuckets(aggs, `u${i}`);
  let unseen = 0;
  const newNames: string[] = [];
  for (const b of fresh.buckets) {
    const n = Math.round(b.doc_count * scale);
    unseen += n;
    if (newNames.length < 10) newNames.push(bucketKey(b));
    // A truncated reference lumped its tail under OTHER: a value outside the kept list may be in it.
    const key = truncated ? OTHER_CATEGORY : bucketKey(b);
    current.set(key, (current.get(key) ?? 0) + n);
  }
  if (fresh.other > 0) {
    const n = Math.round(fresh.other * scale);
    unseen += n;
    const key = truncated ? OTHER_CATEGORY : OTHER_NEW_CATEGORY;
    current.set(key, (current.get(key) ?? 0) + n);
  }
  let present = 0;
  for (const n of current.values()) present += n;
  const result = base(e, present, quality);
  result.quality.unseen_category_rate = present > 0 ? unseen / present : 0;
  if (newNames.length > 0) result.new_categories = newNames;
  if (f.count === 0) return { ...result, note: 'no values in the reference' };
  if (present === 0) return { ...result, note: 'no values in the window' };
  const { stats, decision } = categoricalDrift(reference, current, config);
  result.drift = { psi: stats.psi, js: stats.js, chi2_pvalue: stats.chi2_pvalue, ...decision };
  return result;
}
