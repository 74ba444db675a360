/**
 * From one window's aggregation answer and the reference profile to per-field drift, concept-drift
 * and quality results. No I/O: the request is built here too (`windowAggregations`) so that the
 * request and the reading of its answer stay side by side.
 *
 * Length: Over 450 lines on purpose: the window request and the reading of its answer share
 * aggregation names by position, and a reader checks one against the other.
 */
import {
  categoricalDrift,
  decideDrift,
  ksFromBinnedCounts,
  meanShiftZ,
  psiFromCounts,
  WASSERSTEIN_STD_FLOOR,
  wassersteinSamplingError,
  type DriftConfig,
  type DriftDecision,
} from '../stats/drift/index.js';
import { CORRELATION_CHANGE_THRESHOLD } from '../stats/correlation.js';
import { wassersteinFromMomentBins } from '../stats/wasserstein-moments.js';
import {
  OTHER_CATEGORY,
  categoryCountsOf,
  decileCounts,
  edgesContain,
  fieldOf,
  nextUp,
  type MonitoredCategoricalProfile,
  type MonitoredFeatureProfile,
  type MonitoredNumericProfile,
} from '../profiles/profile.js';
import type { DatasetProfile } from '../profiles/types.js';
import {
  type AggRequest,
  type Bucket,
  type ExtendedStats,
  bucketKey,
  docCount,
  rangeCounts,
  rangeOverEdges,
  sub,
  termsBuckets,
} from '../elastic/aggs.js';
import { binnedFromBuckets, matrixCorrelation } from '../elastic/correlation.js';
import type { MonitoredField } from '../elastic/source.js';
import { binLabels } from '../schema/bins.js';
import type { FieldRole, ValueKind } from '../schema/fields.js';
import { varianceFromBins } from '../stats/binned-variance.js';

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
function outcomesApart(result: FieldResult): FieldResult {
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

export interface WindowRequestPlan {
  aggs: AggRequest;
  /** Fields in the window's mapping that the reference does not have. */
  unexpected: MonitoredField[];
  output?: string;
  correlation: 'matrix_stats' | 'binned' | 'none';
  /** Per profile entry position: the `range` edges sent for a numeric field (sentinel bins first, see MISSING_SENTINEL). */
  rangeEdges: Map<number, { edges: number[]; sentinel: boolean }>;
}

/**
 * The value a numeric `range` gives documents without the field (its `missing` option), in a bin
 * of its own [MISSING_SENTINEL, nextUp(MISSING_SENTINEL)). Why: a separate `missing` aggregation
 * reads the field's doc values once more per document (about an eighth of the request's cost at 1M
 * documents, see bench/RESULTS.md), and `random_sampler` refuses `missing` altogether. A genuine
 * value of −Number.MAX_VALUE also lands in that bin, but the bin's `extended_stats` counts it (a
 * missing value has no value to count), so the two stay apart.
 */
export const MISSING_SENTINEL = -Number.MAX_VALUE;
const SENTINEL_END = nextUp(MISSING_SENTINEL);
/** Key that documents without a categorical field take in the `terms` over the reference categories. */
export const MISSING_CATEGORY = '\u0000missing';

/**
 * All fields of a window in one size-0 request, built so that each field's values are read as few
 * times as possible (each aggregation reads doc values on its own; that is what the request costs):
 * - numeric field: one `range` over the profile's fine edges, with `missing` mapped into a
 *   sentinel bin, and one `extended_stats` sub-aggregation per bin. Bin counts give PSI and KS, bin
 *   means the Wasserstein distance, the bins together the field's count, mean, standard deviation,
 *   min and max, the first and last bins (below the reference minimum, from the next double above
 *   its maximum) the out-of-range rate. Two reads of the field per document.
 * - categorical field: `terms` restricted to the reference categories (exact counts, missing
 *   documents under MISSING_CATEGORY) and `terms` excluding them (new categories).
 * - `terms` on `mlmon.quality.type_mismatch`; `filter` exists on each unexpected field.
 * The concept-drift correlation needs the output per bin of every numeric feature, as many reads
 * again: it has a request of its own (`conceptAggregations`), sampled on large windows.
 * No `missing` aggregation anywhere, so the whole request can sit under a `random_sampler`.
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
  const rangeEdges = new Map<number, { edges: number[]; sentinel: boolean }>();
  entries.forEach(({ field, profile: f }, i) => {
    if (f.kind === 'numeric') {
      const sentinel = f.edges.length === 0 || (f.edges[0] as number) > SENTINEL_END;
      const edges = sentinel ? [MISSING_SENTINEL, SENTINEL_END, ...f.edges] : [...f.edges];
      rangeEdges.set(i, { edges, sentinel });
      const range = rangeOverEdges(field, edges);
      if (sentinel) (range.range as Record<string, unknown>).missing = MISSING_SENTINEL;
      else aggs[`m${i}`] = { filter: { bool: { must_not: { exists: { field } } } } };
      range.aggs = { x: { extended_stats: { field } } };
      aggs[`r${i}`] = range;
      if (f.count > 0 && f.min !== null && f.max !== null) {
        // Out of the reference range: below its minimum, or at or above the next double after its
        // maximum; free when both are fine edges (profiles built by this version), else a range of its own.
        if (!rangeIsOuterBins(f)) {
          aggs[`o${i}`] = rangeOverEdges(field, [f.min, nextUp(f.max)]);
        }
        // PSI bins nest in the fine bins when the deciles are among the fine edges (always for
        // profiles built here or from files); otherwise they need their own range.
        if (!edgesContain(f.edges, f.psiEdges)) aggs[`q${i}`] = rangeOverEdges(field, f.psiEdges);
      }
    } else {
      const cats = Object.keys(f.categories);
      aggs[`k${i}`] = {
        terms: {
          field,
          include: [...cats, MISSING_CATEGORY],
          size: cats.length + 1,
          missing: MISSING_CATEGORY,
        },
      };
      aggs[`u${i}`] = {
        terms: { field, size: NEW_CATEGORIES_LISTED, exclude: [...cats, MISSING_CATEGORY] },
      };
    }
  });
  const names = [...new Set(entries.flatMap((e) => [e.name, e.field]))];
  aggs.tm = { terms: { field: 'mlmon.quality.type_mismatch', include: names, size: names.length } };
  const unexpected = windowFields.filter((f) => !known.has(f.field));
  unexpected.forEach((f, j) => {
    aggs[`e${j}`] = { filter: { exists: { field: f.field } } };
  });
  if (correlation === 'matrix_stats' && output) {
    aggs.corr = { matrix_stats: { fields: [...correlated.map((e) => e.field), output] } };
  }
  return { aggs, unexpected, output, correlation, rangeEdges };
}

/** True when the first fine edge is the reference minimum and the last the next double above its maximum: then the outer bins hold exactly the out-of-range values. */
function rangeIsOuterBins(f: MonitoredNumericProfile): boolean {
  return (
    f.min !== null && f.max !== null && f.edges[0] === f.min && f.edges[f.edges.length - 1] === nextUp(f.max)
  );
}

/**
 * The concept-drift request: per numeric feature with a reference correlation, a `range` over its
 * fine edges with the feature's `extended_stats` and the output's `stats` per bin, and the output's
 * `extended_stats` (see `binnedCorrelation`). Empty when the cluster has `matrix_stats` (then the
 * correlation is in the window request) or nothing is correlated.
 */
export function conceptAggregations(profile: DatasetProfile, plan: WindowRequestPlan): AggRequest {
  const aggs: AggRequest = {};
  if (plan.correlation !== 'binned' || !plan.output) return aggs;
  profileEntries(profile).forEach(({ field, profile: f }, i) => {
    if (f.kind !== 'numeric' || !f.outputCorrelation || f.count === 0) return;
    const range = rangeOverEdges(field, f.edges);
    range.aggs = { x: { extended_stats: { field } }, y: { stats: { field: plan.output } } };
    aggs[`c${i}`] = range;
  });
  if (Object.keys(aggs).length > 0) aggs.ys = { extended_stats: { field: plan.output } };
  return aggs;
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
  /**
   * Sampling probability when the window request ran under `random_sampler`. Its answer is scaled
   * back to the whole window (doc counts, value counts and sums divided by the probability); the
   * rates use it as it is, the tests multiply it back to the counts that were actually seen.
   */
  sampleProbability?: number;
  /** The answer of the `conceptAggregations` request, and its sampling probability if it was sampled. */
  concept?: { aggs: unknown; sampleProbability?: number; documents: number };
}

/** Moments of the values in one bin, from its `extended_stats` (scaled back when sampled). */
interface BinMoments {
  count: number;
  sum: number;
  sumOfSquares: number;
  min: number | null;
  max: number | null;
}

interface ExtendedStatsAnswer extends ExtendedStats {
  sum_of_squares?: number | null;
}

function momentsOf(b: Bucket): BinMoments {
  const x = b.x as ExtendedStatsAnswer | undefined;
  return {
    count: x?.count ?? 0,
    sum: x?.sum ?? 0,
    sumOfSquares: x?.sum_of_squares ?? 0,
    min: x?.min ?? null,
    max: x?.max ?? null,
  };
}

function mergeMoments(a: BinMoments, b: BinMoments): BinMoments {
  const pick = (x: number | null, y: number | null, f: (p: number, q: number) => number): number | null =>
    x === null ? y : y === null ? x : f(x, y);
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    sumOfSquares: a.sumOfSquares + b.sumOfSquares,
    min: pick(a.min, b.min, Math.min),
    max: pick(a.max, b.max, Math.max),
  };
}

/**
 * A numeric field's fine bins from the window request: document count and value moments per fine
 * bin (sentinel bins folded back in), and the documents without the field.
 */
export function numericBins(
  aggs: unknown,
  i: number,
  plan: WindowRequestPlan,
): { docs: number[]; moments: BinMoments[]; missing: number } {
  const spec = plan.rangeEdges.get(i);
  if (!spec) throw new Error(`no range plan for entry ${i}`);
  const buckets = rangeCounts(sub(aggs, `r${i}`), spec.edges.length + 1);
  if (!spec.sentinel) {
    return {
      docs: buckets.map((b) => b.doc_count),
      moments: buckets.map(momentsOf),
      missing: docCount(aggs, `m${i}`),
    };
  }
  // Buckets: (−∞, S), [S, nextUp(S)) = the sentinel bin, [nextUp(S), e0), [e0, e1), …
  const [below, sentinelBin, firstRest, ...rest] = buckets as [Bucket, Bucket, Bucket, ...Bucket[]];
  const genuine = momentsOf(sentinelBin);
  const first = mergeMoments(mergeMoments(momentsOf(below), genuine), momentsOf(firstRest));
  return {
    docs: [below.doc_count + genuine.count + firstRest.doc_count, ...rest.map((b) => b.doc_count)],
    moments: [first, ...rest.map(momentsOf)],
    missing: Math.max(0, sentinelBin.doc_count - genuine.count),
  };
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
  const results: FieldResult[] = profileEntries(profile).map((entry, i) => {
    const f = entry;
    const typeMismatch =
      (mismatches.get(f.name) ?? 0) + (f.name !== f.field ? (mismatches.get(f.field) ?? 0) : 0);
    const rates = (missing: number): QualityResult => ({
      missing_rate: total > 0 ? Math.min(1, missing / total) : 0,
      type_mismatch_rate: total > 0 ? Math.min(1, typeMismatch / total) : 0,
    });
    const config = options.config?.[f.name] ?? options.config?.[f.field];
    const result =
      f.profile.kind === 'numeric'
        ? numericResult(
            entry,
            entry.profile as MonitoredNumericProfile,
            i,
            aggs,
            rates,
            config,
            plan,
            options,
          )
        : categoricalResult(
            entry,
            entry.profile as MonitoredCategoricalProfile,
            i,
            aggs,
            rates,
            config,
            options.sampleProbability ?? 1,
          );
    return typeMismatchVerdict(outcomesApart(result));
  });
  plan.unexpected.forEach((f, j) => {
    const present = Math.min(total, docCount(aggs, `e${j}`));
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

function base(e: ProfileEntry, count: number, quality: QualityResult): FieldResult {
  const type = e.profile.kind;
  return { name: e.name, field: e.field, role: e.role, kind: resultKind(e.role, type), type, count, quality };
}

function numericResult(
  e: ProfileEntry,
  f: MonitoredNumericProfile,
  i: number,
  aggs: unknown,
  rates: (missing: number) => QualityResult,
  config: DriftConfig | undefined,
  plan: WindowRequestPlan,
  options: EvaluateOptions,
): FieldResult {
  const bins = numericBins(aggs, i, plan);
  const all = bins.moments.reduce(mergeMoments);
  const result = base(e, Math.round(all.count), rates(bins.missing));
  if (f.count === 0 || f.min === null || f.max === null || f.mean === null || f.std === null) {
    return { ...result, note: 'no values in the reference' };
  }
  // Sampled counts are scaled estimates; the statistics need integer counts of what was seen.
  const scale = options.sampleProbability ?? 1;
  const current = bins.docs.map((c) => Math.round(c * scale));
  const present = current.reduce((s, c) => s + c, 0);
  const outside = rangeIsOuterBins(f)
    ? [current[0] as number, 0, current[current.length - 1] as number]
    : rangeCounts(sub(aggs, `o${i}`), 3).map((b) => Math.round(b.doc_count * scale));
  result.quality.out_of_range_rate =
    present > 0 ? ((outside[0] as number) + (outside[2] as number)) / present : 0;
  if (present === 0 || all.count === 0 || all.min === null || all.max === null) {
    return { ...result, note: 'no values in the window' };
  }
  const mean = all.sum / all.count;
  const currentPsi = edgesContain(f.edges, f.psiEdges)
    ? decileCounts(f.psiEdges, f.edges, current)
    : rangeCounts(sub(aggs, `q${i}`), f.psiEdges.length + 1).map((b) => Math.round(b.doc_count * scale));
  const psi = psiFromCounts(f.psiCounts, currentPsi);
  const ks = ksFromBinnedCounts(f.edges, f.counts, current);
  const lower = Math.min(f.min, all.min);
  const upper = Math.max(f.max, all.max, f.edges[f.edges.length - 1] ?? f.max);
  const distance = wassersteinFromMomentBins(
    f.edges,
    { counts: f.counts, means: f.binMeans ?? [] },
    {
      counts: current,
      means: bins.moments.map((m) => (m.count > 0 ? m.sum / m.count : null)),
    },
    lower,
    upper,
  );
  const stdDivisor = Math.max(f.std, WASSERSTEIN_STD_FLOOR);
  const w = { normalized: distance / stdDivisor };
  const z = meanShiftZ({ mean: f.mean, std: f.std }, { mean, count: present });
  const drift = { psi, ks: ks.statistic, ks_pvalue: ks.pvalue, wasserstein: w.normalized };
  const decision = decideDrift('numeric', drift, { reference: f.count, current: present }, config);
  result.drift = {
    ...drift,
    ks_error_bound: ksErrorBound(f.counts, current, f.edges),
    // Sampled window: the expected error of the distance from sampling alone (Bobkov–Ledoux bound).
    ...(options.sampleProbability !== undefined
      ? { wasserstein_sampling_error: wassersteinSamplingError(f.edges, current, lower, upper) / stdDivisor }
      : {}),
    mean_shift_z: Number.isFinite(z) ? z : null,
    ...decision,
    bins: driftBins(binLabels(f.psiEdges), f.psiCounts, currentPsi),
  };
  if (f.outputCorrelation && plan.output) {
    const windowCorrelation = conceptCorrelation(e, i, f, aggs, plan, options);
    if (windowCorrelation !== undefined) {
      const threshold = options.correlationThreshold ?? CORRELATION_CHANGE_THRESHOLD;
      const value = windowCorrelation.value;
      const change = Number.isFinite(value) ? value - f.outputCorrelation.value : null;
      result.concept = {
        output: plan.output,
        method: plan.correlation,
        reference_correlation: f.outputCorrelation.value,
        window_correlation: Number.isFinite(value) ? value : null,
        change,
        threshold,
        detected: change !== null && Math.abs(change) >= threshold,
        ...(windowCorrelation.sample ? { sample: windowCorrelation.sample } : {}),
      };
    }
  }
  return result;
}

/**
 * The window's feature–output correlation: from `matrix_stats` in the window answer, or binned
 * from the concept request (undefined when that request was not made).
 */
function conceptCorrelation(
  e: ProfileEntry,
  i: number,
  f: MonitoredNumericProfile,
  aggs: unknown,
  plan: WindowRequestPlan,
  options: EvaluateOptions,
): { value: number; sample?: ConceptSample } | undefined {
  if (plan.correlation === 'matrix_stats' && plan.output) {
    return { value: matrixCorrelation(aggs, e.field, plan.output) };
  }
  const concept = options.concept;
  if (!concept) return undefined;
  const answer = (concept.aggs as Record<string, unknown> | undefined)?.[`c${i}`];
  if (answer === undefined) return undefined;
  const buckets = rangeCounts(answer, f.edges.length + 1);
  const all = buckets.map(momentsOf).reduce(mergeMoments);
  const ys = sub<ExtendedStats>(concept.aggs, 'ys');
  // Not Σx²/n − x̄² over all bins: it cancels for values far from zero (stats/binned-variance.ts).
  const stdX = all.count > 0 ? Math.sqrt(varianceFromBins(buckets.map(momentsOf))) : 0;
  const value = binnedFromBuckets(buckets, stdX, ys.std_deviation ?? 0);
  if (concept.sampleProbability === undefined) return { value };
  // Standard error of a Pearson correlation from n pairs: (1 − r²) / √(n − 1).
  const n = concept.documents;
  return {
    value,
    sample: {
      probability: concept.sampleProbability,
      documents: n,
      standard_error: n > 1 && Number.isFinite(value) ? (1 - value * value) / Math.sqrt(n - 1) : null,
    },
  };
}

/**
 * Inside one bin both empirical CDFs rise by at most that bin's share, so the largest CDF gap
 * inside a bin exceeds the gap at its edges by at most min(reference share, window share). The
 * maximum over bins bounds exact KS − binned KS; with percentile bins the reference share is about
 * 1 %. A bin of a single value [v, nextUp(v)) (an atom: a value holding ≥ 0.5 % of the reference)
 * has no inside, so it adds no error however much it holds; `edges` identifies them.
 */
export function ksErrorBound(
  reference: readonly number[],
  current: readonly number[],
  edges?: readonly number[],
): number {
  const n1 = reference.reduce((s, c) => s + c, 0);
  const n2 = current.reduce((s, c) => s + c, 0);
  let bound = 0;
  for (let b = 0; b < reference.length; b++) {
    if (edges && b > 0 && b < edges.length && edges[b] === nextUp(edges[b - 1] as number)) continue;
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
  rates: (missing: number) => QualityResult,
  config: DriftConfig | undefined,
  scale: number,
): FieldResult {
  const reference = categoryCountsOf(f);
  const truncated = f.otherCount > 0;
  const current = new Map<string, number>();
  let missing = 0;
  for (const c of Object.keys(f.categories)) current.set(c, 0);
  for (const b of termsBuckets(aggs, `k${i}`).buckets) {
    if (bucketKey(b) === MISSING_CATEGORY) missing = b.doc_count;
    else current.set(bucketKey(b), Math.round(b.doc_count * scale));
  }
  const quality = rates(missing);
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
  // Like numeric fields, the count is the window's (the sample's scaled back), the tests use the sample's.
  const result = base(e, Math.round(present / scale), quality);
  result.quality.unseen_category_rate = present > 0 ? unseen / present : 0;
  if (newNames.length > 0) result.new_categories = newNames;
  if (f.count === 0) return { ...result, note: 'no values in the reference' };
  if (present === 0) return { ...result, note: 'no values in the window' };
  const { stats, decision } = categoricalDrift(reference, current, config);
  const categories = [...new Set([...reference.keys(), ...current.keys()])];
  result.drift = {
    psi: stats.psi,
    js: stats.js,
    chi2_pvalue: stats.chi2_pvalue,
    ...decision,
    bins: driftBins(
      categories,
      categories.map((k) => reference.get(k) ?? 0),
      categories.map((k) => current.get(k) ?? 0),
    ),
  };
  return result;
}
