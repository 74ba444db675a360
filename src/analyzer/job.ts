/**
 * The drift and quality job: for a model (one version, or each version found), a namespace and a
 * time range cut into windows, compare every window with the reference (a stored baseline or a
 * reference window profiled on the fly) and write the results. Each window is one size-0 search
 * (all fields at once); the statistics are computed here from the aggregation answer.
 *
 * Length: analyzeWindow is over 100 lines on purpose: one window's request, sampling fallback and
 * results in the order they happen.
 */
import type { Client } from '@elastic/elasticsearch';
import { profileFromElasticsearch } from '../profiles/from-elasticsearch.js';
import { multivariateFromElasticsearch, withMultivariate } from '../profiles/multivariate.js';
import type { DatasetProfile } from '../profiles/types.js';
import { fieldOf, type MonitoredNumericProfile } from '../profiles/profile.js';
import { importanceWeightedRanking } from '../stats/importance.js';
import { DEFAULT_BASELINE_ID, getBaseline } from '../profiles/store.js';
import type { DriftConfig } from '../stats/drift/index.js';
import { type AggRequest, asAggs, splitAggregations, totalHits } from '../elastic/aggs.js';
import { capabilities } from '../elastic/capabilities.js';
import { rangeQuery } from '../elastic/filters.js';
import { monitoredFields } from '../elastic/source.js';
import { DEFAULT_NAMESPACE, logStream } from '../schema/streams.js';
import type { TimeWindow } from '../schema/window.js';
import { evaluateWindow, type EvaluateOptions } from './evaluate.js';
import type { FieldResult } from './field-result.js';
import { conceptAggregations, windowAggregations } from './window-request.js';
import {
  type PendingDocument,
  type WindowSummary,
  type WriteReport,
  windowDocuments,
  writeResults,
} from './results.js';
import { splitWindows } from './windows.js';
import { count as countAll, isTransientFailure, search } from '../elastic/search.js';
import { multivariateDocuments, type MultivariateWindowResult } from './multivariate.js';

export type ReferenceSpec =
  | { type: 'baseline'; id?: string }
  | { type: 'window'; from: Date; to: Date }
  | { type: 'profile'; id: string; profile: DatasetProfile };

export interface AnalyzeOptions {
  namespace: string;
  model: string;
  /** Omit for every version that has predictions in the range. */
  version?: string;
  from: Date;
  to: Date;
  windowMs: number;
  /** Window size as the user wrote it, recorded in results (`1h`). */
  windowSize?: string;
  /** Windows are aligned to multiples of the size from this instant (default the Unix epoch). */
  anchor?: Date;
  reference: ReferenceSpec;
  /** Write result documents (default true). */
  write?: boolean;
  refresh?: boolean;
  /**
   * Sample windows with more documents than this (random_sampler, when the cluster has it) at the
   * probability that keeps about this many. Undefined: never sample.
   */
  sampleAbove?: number;
  config?: Record<string, DriftConfig>;
  correlationThreshold?: number;
  /** Compute the concept-drift correlation (default true when the reference has one). */
  concept?: boolean;
  /** Windows with more documents get their correlation from a sample of about this many (default CONCEPT_SAMPLE_SIZE; needs random_sampler). */
  conceptSampleSize?: number;
  /**
   * A window's aggregations are sent as up to this many concurrent requests (default
   * REQUESTS_PER_WINDOW; windows under SPLIT_ABOVE documents always as one); 1 sends them as one.
   */
  requestsPerWindow?: number;
  /** Use the shard request cache for window searches (default: Elasticsearch's default). Benchmarks turn it off. */
  requestCache?: boolean;
  /** Multivariate drift (PCA reconstruction, domain classifier) when the reference holds its state (default true). */
  multivariate?: boolean;
  /**
   * When no version has a reference (no baseline stored yet), return the versions in `skipped`
   * instead of throwing {@link AnalyzeError}: performance and service health need no reference.
   */
  allowMissingReference?: boolean;
}

export interface WindowAnalysis {
  start: string;
  end: string;
  count: number;
  sample?: { probability: number; documents: number; ks_error_95: number };
  /** What the analyzer could not do as asked (e.g. sampling on a cluster without random_sampler). */
  notes?: string[];
  fields: FieldResult[];
  /** Multivariate drift of a sample of the window, when the reference holds its state (multivariate.ts). */
  multivariate?: MultivariateWindowResult;
  summary: WindowSummary;
}

export interface VersionAnalysis {
  version: string;
  reference: { id: string; type: string; count: number; source: DatasetProfile['source'] };
  windows: WindowAnalysis[];
}

export interface AnalyzeResult {
  model: string;
  namespace: string;
  versions: VersionAnalysis[];
  written?: WriteReport;
  /** The result documents, as written (the scheduler feeds hooks and metrics from them). */
  documents: PendingDocument[];
  /** Versions skipped and why (e.g. no baseline). */
  skipped: Array<{ version: string; reason: string }>;
}

export class AnalyzeError extends Error {
  override name = 'AnalyzeError';
}

export async function analyze(client: Client, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const windows = splitWindows(options.from, options.to, options.windowMs, options.anchor);
  const versions = options.version !== undefined ? [options.version] : await versionsInRange(client, options);
  if (versions.length === 0) {
    throw new AnalyzeError(
      `No predictions of model ${options.model} in ${logStream('prediction', options.namespace)} between ${options.from.toISOString()} and ${options.to.toISOString()}`,
    );
  }
  const caps = await capabilities(client);
  const result: AnalyzeResult = {
    model: options.model,
    namespace: options.namespace,
    versions: [],
    documents: [],
    skipped: [],
  };
  const documents = result.documents;
  for (const version of versions) {
    const reference = await resolveReference(client, options, version);
    if ('reason' in reference) {
      result.skipped.push({ version, reason: reference.reason });
      continue;
    }
    const analysis: VersionAnalysis = {
      version,
      reference: {
        id: reference.id,
        type: reference.type,
        count: reference.profile.rowCount,
        source: reference.profile.source,
      },
      windows: [],
    };
    // One field list for the whole range: unexpected fields are then checked in every window.
    const windowFields = await monitoredFields(client, options.namespace, {
      from: options.from,
      to: options.to,
    });
    checkKinds(reference.profile, windowFields, reference.id, options.model, version);
    for (const w of windows) {
      const wa = await analyzeWindow(
        client,
        options,
        version,
        reference.profile,
        windowFields,
        w,
        caps.randomSampler,
        caps.matrixStats,
      );
      const ctx = {
        model: options.model,
        version,
        start: w.start,
        end: w.end,
        windowSize: options.windowSize ?? `${options.windowMs}ms`,
        count: wa.count,
        reference: { id: reference.id, type: reference.type, count: reference.profile.rowCount },
      };
      documents.push(
        ...windowDocuments({ ...ctx, ...(wa.sample ? { sample: wa.sample } : {}) }, wa.fields, wa.summary),
      );
      const state = reference.profile.multivariate;
      if (state && wa.count > 0 && options.multivariate !== false) {
        const mv = await multivariateDocuments(
          client,
          { namespace: options.namespace, model: options.model, version, window: w, state },
          ctx,
        );
        if (mv) {
          wa.multivariate = mv.result;
          documents.push(...mv.documents);
        }
      }
      analysis.windows.push(wa);
    }
    result.versions.push(analysis);
  }
  if (result.versions.length === 0 && !options.allowMissingReference) {
    throw new AnalyzeError(result.skipped.map((s) => `version ${s.version}: ${s.reason}`).join('; '));
  }
  if (options.write !== false && documents.length > 0) {
    result.written = await writeResults(client, options.namespace, documents, { refresh: options.refresh });
  }
  return result;
}

async function versionsInRange(client: Client, options: AnalyzeOptions): Promise<string[]> {
  const r = await search(client, {
    index: logStream('prediction', options.namespace),
    ignore_unavailable: true,
    allow_no_indices: true,
    size: 0,
    query: rangeQuery({ model: options.model }, options.from, options.to),
    aggs: { v: { terms: { field: 'model.version', size: 1000 } } },
  });
  const buckets = (r.aggregations?.v as { buckets?: Array<{ key: string }> } | undefined)?.buckets ?? [];
  return buckets.map((b) => String(b.key)).sort();
}

/** Why a version has no drift result, with the commands that give it a reference. */
export function missingBaselineReason(
  model: string,
  version: string,
  id: string,
  namespace: string = DEFAULT_NAMESPACE,
): string {
  const idFlag = id === DEFAULT_BASELINE_ID ? '' : ` --id ${id}`;
  const inNamespace = namespace === DEFAULT_NAMESPACE ? '' : ` in namespace ${namespace}`;
  const namespaceFlag = namespace === DEFAULT_NAMESPACE ? '' : ` --namespace ${namespace}`;
  return `no baseline "${id}" for model ${model} version ${version}${inNamespace}: create one with "mlmon baseline --model ${model} --version ${version}${namespaceFlag}${idFlag} --from <t> --to <t>" (or --file <reference.csv>), or pass --reference-from/--reference-to`;
}

async function resolveReference(
  client: Client,
  options: AnalyzeOptions,
  version: string,
): Promise<{ id: string; type: string; profile: DatasetProfile } | { reason: string }> {
  const ref = options.reference;
  if (ref.type === 'profile') return { id: ref.id, type: 'profile', profile: ref.profile };
  if (ref.type === 'baseline') {
    const id = ref.id ?? DEFAULT_BASELINE_ID;
    const stored = await getBaseline(client, {
      model: options.model,
      version,
      id,
      namespace: options.namespace,
    });
    if (!stored) {
      return { reason: missingBaselineReason(options.model, version, id, options.namespace) };
    }
    return { id, type: 'baseline', profile: stored.profile };
  }
  try {
    const profile = await profileFromElasticsearch(client, {
      namespace: options.namespace,
      model: options.model,
      version,
      from: ref.from,
      to: ref.to,
    });
    // A reference window profiled on the fly gets its multivariate state fitted on the fly too.
    const state =
      options.multivariate === false
        ? undefined
        : await multivariateFromElasticsearch(client, profile, {
            namespace: options.namespace,
            model: options.model,
            version,
            from: ref.from,
            to: ref.to,
          });
    return {
      id: `window:${ref.from.toISOString()}/${ref.to.toISOString()}`,
      type: 'window',
      profile: state ? withMultivariate(profile, state) : profile,
    };
  } catch (error) {
    // A reference window that could not be read whole is not a missing reference: the window fails
    // and is retried (an outage, a shard missing), rather than being settled without drift.
    if (isTransientFailure(error)) throw error;
    return { reason: (error as Error).message };
  }
}

/**
 * Default: the concept-drift correlation of a window with more documents than twice this is
 * computed on a random sample of about this many. Its standard error is then at most
 * 1 / √20,000 ≈ 0.007, against a change threshold of 0.2; the full request would cost as much as
 * the drift request itself (bench/RESULTS.md), the sample at 1M documents about a twentieth.
 */
export const CONCEPT_SAMPLE_SIZE = 20_000;

/**
 * Default number of concurrent requests a window's aggregations are split into. A shard search is
 * single-threaded; on a 2-core node, one request of the bench's 40 aggregations over 1M documents
 * took ~2.1 s, 4 requests ~0.9 s, 8 ~0.8 s, 12 ~0.77 s (bench/RESULTS.md). Eight keeps most of the
 * gain while adding few shard requests to the cluster's search queue.
 */
export const REQUESTS_PER_WINDOW = 8;

/**
 * Windows with fewer documents than this (when the count is known) go as one request: there the
 * extra requests cost more than they save (the demo's 131 weekly windows of ~350 documents took
 * 5–15 % longer split in 8).
 */
export const SPLIT_ABOVE = 10_000;

/** random_sampler takes p < 0.5 (or exactly 1): sample only when that saves at least half. */
function samplingProbability(target: number | undefined, count: number): number | undefined {
  if (target === undefined || !(target > 0) || count <= 0) return undefined;
  const p = target / count;
  return p < 0.5 ? p : undefined;
}

async function analyzeWindow(
  client: Client,
  options: AnalyzeOptions,
  version: string,
  profile: DatasetProfile,
  windowFields: Awaited<ReturnType<typeof monitoredFields>>,
  w: TimeWindow,
  canSample: boolean,
  matrixStats: boolean,
): Promise<WindowAnalysis> {
  const query = rangeQuery({ model: options.model, version }, w.start, w.end);
  const plan = windowAggregations(profile, windowFields, { matrixStats });
  const conceptAggs = options.concept === false ? {} : conceptAggregations(plan);
  const wantConcept = Object.keys(conceptAggs).length > 0;
  const index = logStream('prediction', options.namespace);
  const notes: string[] = [];
  if (options.sampleAbove !== undefined && !canSample) {
    notes.push(
      `--sample-above ${options.sampleAbove}: this cluster has no random_sampler aggregation; the window was analyzed unsampled`,
    );
  }
  // A count first (milliseconds, even at 1M documents) decides the sampling probabilities, so
  // that every aggregation request of the window can then be sent at once.
  let known: number | undefined;
  if (canSample && (options.sampleAbove !== undefined || wantConcept)) {
    known = await countAll(client, { index, query, ignore_unavailable: true, allow_no_indices: true });
  }
  const base = { start: w.start.toISOString(), end: w.end.toISOString() };
  const empty = (): WindowAnalysis => ({
    ...base,
    count: 0,
    fields: [],
    summary: summarize([], profile),
    ...(notes.length ? { notes } : {}),
  });
  if (known === 0) return empty();
  const probability = known === undefined ? undefined : samplingProbability(options.sampleAbove, known);
  const windowSearch = (aggs: AggRequest, p: number | undefined) =>
    search(client, {
      index,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      track_total_hits: true,
      ...(options.requestCache !== undefined ? { request_cache: options.requestCache } : {}),
      query,
      aggs: asAggs(
        // Same seed in every request: each samples the same documents.
        p === undefined ? aggs : { sample: { random_sampler: { probability: p, seed: 42 }, aggs } },
      ),
    });

  // Concept drift: the output per bin of every numeric feature costs as much again as the drift
  // request, so it is a request of its own, on a sample of the window when the window is large.
  let conceptProbability: number | undefined;
  if (wantConcept && known !== undefined) {
    const p = samplingProbability(options.conceptSampleSize ?? CONCEPT_SAMPLE_SIZE, known);
    conceptProbability = probability !== undefined && (p === undefined || probability < p) ? probability : p;
  }
  const parts = splitAggregations(
    plan.aggs,
    known !== undefined && known < SPLIT_ABOVE ? 1 : (options.requestsPerWindow ?? REQUESTS_PER_WINDOW),
  );
  const [answers, conceptAnswer] = await Promise.all([
    Promise.all(parts.map((aggs) => windowSearch(aggs, probability))),
    wantConcept ? windowSearch(conceptAggs, conceptProbability) : undefined,
  ]);
  const first = answers[0];
  const count = first ? totalHits(first) : 0;
  if (count === 0) return empty();
  // Each part answers its own aggregation names; together they are the answer of the whole plan.
  const aggs: Record<string, unknown> = {};
  let sampled = count;
  for (const r of answers) {
    const answer = r.aggregations as Record<string, unknown> | undefined;
    if (probability === undefined) Object.assign(aggs, answer);
    else {
      // The sampler's own doc_count is the number of documents it kept (its sub-aggregations are scaled back).
      const s = answer?.sample as Record<string, unknown> & { doc_count?: number };
      const { doc_count, ...rest } = s;
      sampled = doc_count ?? 0;
      Object.assign(aggs, rest);
    }
  }
  let concept: EvaluateOptions['concept'];
  if (conceptAnswer) {
    const cp = conceptProbability;
    const answer =
      cp === undefined
        ? conceptAnswer.aggregations
        : (conceptAnswer.aggregations as Record<string, unknown>).sample;
    concept = {
      aggs: answer,
      documents: cp === undefined ? count : ((answer as { doc_count?: number }).doc_count ?? 0),
      ...(cp !== undefined ? { sampleProbability: cp } : {}),
    };
  }
  const fields = evaluateWindow(profile, plan, aggs, count, {
    config: options.config,
    correlationThreshold: options.correlationThreshold,
    sampleProbability: probability,
    concept,
  });
  return {
    ...base,
    count,
    ...(probability !== undefined
      ? {
          // DKW: the sample CDF is within this of the window's CDF with 95 % probability.
          sample: {
            probability,
            documents: sampled,
            ks_error_95: Math.sqrt(Math.log(2 / 0.05) / (2 * sampled)),
          },
        }
      : {}),
    fields,
    summary: summarize(fields, profile),
    ...(notes.length ? { notes } : {}),
  };
}

/**
 * A reference that profiles a field as numbers where Elasticsearch maps it keyword (a 0/1 label
 * column of a baseline stored before labels were categorical by their role) would make the window's
 * range aggregation fail with a raw search error: refused first, in one line that says what to do.
 */
function checkKinds(
  profile: DatasetProfile,
  windowFields: Awaited<ReturnType<typeof monitoredFields>>,
  referenceId: string,
  model: string,
  version: string,
): void {
  for (const [name, p] of Object.entries(profile.features)) {
    const { field } = fieldOf(name, p);
    const mapped = windowFields.find((f) => f.field === field);
    if (p.kind === 'numeric' && mapped?.kind === 'categorical' && !mapped.conflicting) {
      throw new AnalyzeError(
        `reference "${referenceId}" profiles ${field} as numeric, but Elasticsearch maps it keyword (categorical): store the baseline again (mlmon baseline --model ${model} --version ${version} --id ${referenceId} --file F --replace; label columns are categorical by their role)`,
      );
    }
  }
}

export function summarize(fields: readonly FieldResult[], profile?: DatasetProfile): WindowSummary {
  const features = fields.filter((f) => f.role === 'feature' && f.drift);
  const drifted = features.filter((f) => f.drift?.detected).map((f) => f.name);
  const importance = profile ? explanationRanking(features, profile) : undefined;
  return {
    features: features.length,
    drifted: drifted.length,
    drift_share: features.length > 0 ? drifted.length / features.length : 0,
    drifted_features: drifted,
    outputs_drifted: fields.filter((f) => f.role !== 'feature' && f.drift?.detected).map((f) => f.name),
    concept_drifted: fields.filter((f) => f.concept?.detected).map((f) => f.name),
    ...(importance ? { importance: { source: 'explanation' as const, ...importance } } : {}),
  };
}

/** Features with a drift result and an attribution field `explanation.<feature>` in the reference. */
function explanationRanking(features: readonly FieldResult[], profile: DatasetProfile) {
  const importance = new Map<string, number>();
  for (const [name, p] of Object.entries(profile.features)) {
    const { field, role } = fieldOf(name, p);
    const m = (p as MonitoredNumericProfile).meanAbsAttribution;
    if (role === 'explanation' && m !== undefined) importance.set(field.slice('explanation.'.length), m);
  }
  if (importance.size === 0) return undefined;
  return importanceWeightedRanking(
    features.flatMap((f) => {
      const m = importance.get(f.name) ?? importance.get(f.field.replace(/^features\./, ''));
      if (m === undefined || !f.drift) return [];
      return [{ feature: f.name, meanAbsAttribution: m, detected: f.drift.detected, psi: f.drift.psi }];
    }),
  );
}
