/**
 * From one window's aggregation answer and the reference profile to per-field drift, concept-drift
 * and quality results. No I/O. The request is built in window-request.ts, whose plan carries a
 * typed reader for each aggregation it sends: this file reads the answer only through them.
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
} from '../stats/drift/index.js';
import { CORRELATION_CHANGE_THRESHOLD } from '../stats/correlation.js';
import { wassersteinFromMomentBins } from '../stats/wasserstein-moments.js';
import {
  OTHER_CATEGORY,
  categoryCountsOf,
  decileCounts,
  edgesContain,
  nextUp,
  type MonitoredCategoricalProfile,
  type MonitoredNumericProfile,
} from '../profiles/profile.js';
import type { DatasetProfile } from '../profiles/types.js';
import { bucketKey } from '../elastic/aggs.js';
import { binnedFromBuckets, correlationFromMatrix } from '../elastic/correlation.js';
import { binLabels } from '../schema/bins.js';
import {
  MISSING_CATEGORY,
  mergeMoments,
  momentsOf,
  numericBins,
  profileEntries,
  rangeIsOuterBins,
  type CategoricalRequest,
  type Declared,
  type NumericRequest,
  type ProfileEntry,
  type WindowRequestPlan,
} from './window-request.js';
import { varianceFromBins } from '../stats/binned-variance.js';
import {
  driftBins,
  outcomesApart,
  resultKind,
  typeMismatchVerdict,
  type ConceptSample,
  type FieldResult,
  type QualityResult,
} from './field-result.js';

/** Key of the lumped new categories (beyond NEW_CATEGORIES_LISTED). */
export const OTHER_NEW_CATEGORY = '\u0000other-new';

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

/** Read a window's answer into per-field results. `total` is the number of documents in the window. */
export function evaluateWindow(
  profile: DatasetProfile,
  plan: WindowRequestPlan,
  aggs: unknown,
  total: number,
  options: EvaluateOptions = {},
): FieldResult[] {
  const mismatches = plan.typeMismatch.read(aggs);
  const results: FieldResult[] = profileEntries(profile).map((entry, i) => {
    const f = entry;
    const request = plan.fields[i];
    if (request?.kind !== entry.profile.kind)
      throw new Error(`the window request does not match the profile at ${f.name}`);
    const typeMismatch =
      (mismatches.get(f.name) ?? 0) + (f.name !== f.field ? (mismatches.get(f.field) ?? 0) : 0);
    const rates = (missing: number): QualityResult => ({
      missing_rate: total > 0 ? Math.min(1, missing / total) : 0,
      type_mismatch_rate: total > 0 ? Math.min(1, typeMismatch / total) : 0,
    });
    const config = options.config?.[f.name] ?? options.config?.[f.field];
    const result =
      request.kind === 'numeric'
        ? numericResult(
            entry,
            entry.profile as MonitoredNumericProfile,
            request,
            aggs,
            rates,
            config,
            plan,
            options,
          )
        : categoricalResult(
            entry,
            entry.profile as MonitoredCategoricalProfile,
            request,
            aggs,
            rates,
            config,
            options.sampleProbability ?? 1,
          );
    return typeMismatchVerdict(outcomesApart(result));
  });
  plan.unexpected.forEach((f, j) => {
    const present = Math.min(total, (plan.present[j] as Declared<number>).read(aggs));
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

/** An aggregation the plan declares for this field's profile; absent means plan and profile disagree. */
function required<T>(declared: Declared<T> | undefined, request: NumericRequest): Declared<T> {
  if (!declared) throw new Error(`the window request lacks an aggregation beside ${request.bins.name}`);
  return declared;
}

function base(e: ProfileEntry, count: number, quality: QualityResult): FieldResult {
  const type = e.profile.kind;
  return { name: e.name, field: e.field, role: e.role, kind: resultKind(e.role, type), type, count, quality };
}

function numericResult(
  e: ProfileEntry,
  f: MonitoredNumericProfile,
  request: NumericRequest,
  aggs: unknown,
  rates: (missing: number) => QualityResult,
  config: DriftConfig | undefined,
  plan: WindowRequestPlan,
  options: EvaluateOptions,
): FieldResult {
  const bins = numericBins(aggs, request);
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
    : required(request.outOfRange, request)
        .read(aggs)
        .map((c) => Math.round(c * scale));
  result.quality.out_of_range_rate =
    present > 0 ? ((outside[0] as number) + (outside[2] as number)) / present : 0;
  if (present === 0 || all.count === 0 || all.min === null || all.max === null) {
    return { ...result, note: 'no values in the window' };
  }
  const mean = all.sum / all.count;
  const currentPsi = edgesContain(f.edges, f.psiEdges)
    ? decileCounts(f.psiEdges, f.edges, current)
    : required(request.psiBins, request)
        .read(aggs)
        .map((c) => Math.round(c * scale));
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
    const windowCorrelation = conceptCorrelation(e, request, aggs, plan, options);
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
  request: NumericRequest,
  aggs: unknown,
  plan: WindowRequestPlan,
  options: EvaluateOptions,
): { value: number; sample?: ConceptSample } | undefined {
  if (plan.matrix && plan.output) {
    return { value: correlationFromMatrix(plan.matrix.read(aggs), e.field, plan.output) };
  }
  const concept = options.concept;
  const { outputSpread } = plan.concept;
  if (!concept || !request.conceptBins || !outputSpread) return undefined;
  const buckets = request.conceptBins.read(concept.aggs);
  const all = buckets.map(momentsOf).reduce(mergeMoments);
  const ys = outputSpread.read(concept.aggs);
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
  request: CategoricalRequest,
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
  for (const b of request.known.read(aggs).buckets) {
    if (bucketKey(b) === MISSING_CATEGORY) missing = b.doc_count;
    else current.set(bucketKey(b), Math.round(b.doc_count * scale));
  }
  const quality = rates(missing);
  const fresh = request.fresh.read(aggs);
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
