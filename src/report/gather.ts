/**
 * Reads what a report needs for one model and one period: the result documents the analyzer wrote
 * (drift, quality, performance, service) whose windows lie inside the period, and, for the top
 * drifted features, the reference distribution next to the period's over the same bins, from the
 * bins the drift documents carry (distributions.ts; any kind of reference).
 * Pure typed data out; nothing is rendered here.
 */
import { comparisonRow } from './comparison.js';
import type { Client, estypes } from '@elastic/elasticsearch';
import { pagesByTime } from '../elastic/search.js';
import { DATASET_FEATURE } from '../analyzer/results.js';
import { resultStream } from '../schema/streams.js';
import { predictionVolume } from './volume.js';
import { distributionFromBins } from './distributions.js';
import { summarizeDrift, summarizeQuality, summarizeService, type QualityRow } from './summary.js';
import type {
  DriftRow,
  FeatureDistribution,
  MetricBound,
  ModelPeriodData,
  PerformancePoint,
  ReportPeriod,
  ServicePoint,
} from './types.js';

export interface GatherOptions {
  namespace: string;
  model: string;
  period: ReportPeriod;
  /** Reference-versus-current distributions for this many top-ranked drifted features (default 3). */
  topFeatures?: number;
  /** Skip the distributions (the previous period only needs the figures). */
  distributions?: boolean;
  /** Expected metric ranges, drawn as bounds (the scheduler config's `performance.bounds`). */
  bounds?: Record<string, MetricBound>;
}

type Doc = Record<string, unknown>;

/** The value at a dotted path of a result document (`performance.estimated.reliable`). */
export function get(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Doc)[k];
  }
  return v;
}
/** A finite number at a dotted path, else null (absent is never 0). */
export const num = (doc: unknown, path: string): number | null => {
  const v = get(doc, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};
const str = (doc: unknown, path: string): string | null => {
  const v = get(doc, path);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
};

/** Result documents of one model whose window lies inside the period, oldest first. */
async function resultDocuments(
  client: Client,
  stream: string,
  model: string,
  period: ReportPeriod,
  extra: estypes.QueryDslQueryContainer[] = [],
  mustNot: estypes.QueryDslQueryContainer[] = [],
): Promise<Doc[]> {
  const query: estypes.QueryDslQueryContainer = {
    bool: {
      filter: [
        { term: { 'model.name': model } },
        { range: { 'window.start': { gte: period.start.toISOString() } } },
        { range: { 'window.end': { lte: period.end.toISOString() } } },
        ...extra,
      ],
      must_not: mustNot,
    },
  };
  const out: Doc[] = [];
  for await (const page of pagesByTime<Doc>(client, stream, query, 5000))
    for (const hit of page) if (hit._source) out.push(hit._source);
  return out;
}

function driftRow(d: Doc): DriftRow {
  return {
    version: str(d, 'model.version') ?? '',
    feature: str(d, 'feature.name') ?? '',
    kind: str(d, 'feature.kind') ?? '',
    windowStart: str(d, 'window.start') ?? '',
    windowEnd: str(d, 'window.end') ?? '',
    windowCount: num(d, 'window.count') ?? 0,
    method: str(d, 'drift.method') ?? '',
    score: num(d, 'drift.score'),
    threshold: num(d, 'drift.threshold'),
    detected: get(d, 'drift.detected') === true,
    severity: str(d, 'drift.severity'),
    psi: num(d, 'drift.psi'),
    referenceId: str(d, 'reference.id'),
    referenceType: str(d, 'reference.type'),
  };
}

function qualityRow(d: Doc): QualityRow {
  const categories = get(d, 'new_categories');
  return {
    version: str(d, 'model.version') ?? '',
    feature: str(d, 'feature.name') ?? '',
    windowCount: num(d, 'window.count') ?? 0,
    missingRate: num(d, 'quality.missing_rate'),
    outOfRangeRate: num(d, 'quality.out_of_range_rate'),
    unseenCategoryRate: num(d, 'quality.unseen_category_rate'),
    typeMismatchRate: num(d, 'quality.type_mismatch_rate'),
    severity: str(d, 'quality.severity'),
    unexpected: get(d, 'quality.unexpected_feature') !== undefined,
    newCategories: Array.isArray(categories) ? categories.map(String) : [],
  };
}

function numericLeaves(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!value || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value as Doc))
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** Metrics that are not counts or settings: what a reader compares over time. */
const NOT_METRICS = new Set([
  'count',
  'label_coverage',
  'threshold',
  'roc_auc_error_bound',
  'mape_excluded',
  'positive_rate',
  'prevalence',
  'outside_map_share',
  'interval_level',
]);

function performancePoint(d: Doc): PerformancePoint {
  const perf = (get(d, 'performance') ?? {}) as Doc;
  const realised = numericLeaves(perf);
  const estimated = numericLeaves(perf.estimated);
  for (const k of NOT_METRICS) {
    delete realised[k];
    delete estimated[k];
  }
  const degradedMetrics = perf.degraded_metrics;
  const reliable = get(perf, 'estimated.reliable');
  const reasons = get(perf, 'estimated.unreliable_reason');
  const assumptions = get(perf, 'estimated.failed_assumptions');
  return {
    version: str(d, 'model.version') ?? '',
    windowStart: str(d, 'window.start') ?? '',
    windowEnd: str(d, 'window.end') ?? '',
    task: str(perf, 'task'),
    count: num(perf, 'count') ?? 0,
    labelCoverage: num(perf, 'label_coverage'),
    realised,
    estimated,
    degraded: typeof perf.degraded === 'boolean' ? perf.degraded : null,
    degradedMetrics: Array.isArray(degradedMetrics) ? degradedMetrics.map(String) : [],
    estimatedDegraded:
      typeof get(perf, 'estimated.degraded') === 'boolean' ? get(perf, 'estimated.degraded') === true : null,
    estimatedReliable: typeof reliable === 'boolean' ? reliable : null,
    estimatedUnreliableReasons: Array.isArray(reasons) ? reasons.map(String) : [],
    estimatedFailedAssumptions: Array.isArray(assumptions) ? assumptions.map(String) : [],
  };
}

function servicePoint(d: Doc): ServicePoint {
  return {
    version: str(d, 'model.version') ?? '',
    windowStart: str(d, 'window.start') ?? '',
    windowEnd: str(d, 'window.end') ?? '',
    count: num(d, 'window.count') ?? 0,
    errors: num(d, 'service.errors'),
    errorRate: num(d, 'service.error_rate'),
    throughput: num(d, 'service.throughput'),
    p50: num(d, 'service.latency.p50'),
    p95: num(d, 'service.latency.p95'),
    p99: num(d, 'service.latency.p99'),
  };
}

/** Everything about one model in one period. */
export async function gatherModelPeriod(client: Client, options: GatherOptions): Promise<ModelPeriodData> {
  const { namespace, model, period } = options;
  if (!(period.start < period.end)) throw new RangeError('report period: start must be before end');
  const notSegment: estypes.QueryDslQueryContainer[] = [{ exists: { field: 'segment.name' } }];
  const [driftDocs, qualityDocs, performanceDocs, serviceDocs, volume] = await Promise.all([
    resultDocuments(client, resultStream('drift', namespace), model, period),
    resultDocuments(client, resultStream('quality', namespace), model, period),
    resultDocuments(client, resultStream('performance', namespace), model, period, [], notSegment),
    resultDocuments(client, resultStream('service', namespace), model, period, [], notSegment),
    predictionVolume(client, namespace, model, period),
  ]);
  const summaries = driftDocs.filter((d) => str(d, 'feature.name') === DATASET_FEATURE);
  const drift = driftDocs.filter((d) => str(d, 'feature.name') !== DATASET_FEATURE).map(driftRow);
  const performance = performanceDocs
    .filter((d) => {
      const scope = str(d, 'performance.scope');
      return scope === null || scope === 'model';
    })
    .map(performancePoint);
  const service = serviceDocs.map(servicePoint);
  const comparisons = performanceDocs
    .filter((d) => str(d, 'performance.scope') === 'comparison')
    .map((d) => comparisonRow(d))
    .filter((r) => r !== null)
    .sort((x, y) => (x.windowStart ?? '').localeCompare(y.windowStart ?? ''));
  const features = summarizeDrift(drift);
  const versions = [
    ...new Set([...drift, ...performance, ...service].map((r) => r.version).filter((v) => v !== '')),
  ].sort();
  const notes: string[] = [];
  const distributions: FeatureDistribution[] = [];
  if (options.distributions !== false) {
    const top = features
      .filter((f) => f.kind === 'numeric' || f.kind === 'categorical')
      .slice(0, options.topFeatures ?? 3);
    for (const f of top) {
      const d = distributionFromBins(driftDocs, f.version, f.feature);
      if (typeof d === 'string') notes.push(d);
      else distributions.push(d);
    }
  }
  return {
    model,
    namespace,
    period,
    versions,
    predictionsLogged: volume.total,
    daily: volume.daily,
    drift,
    features,
    driftShare: summaries.map((d) => ({
      version: str(d, 'model.version') ?? '',
      windowStart: str(d, 'window.start') ?? '',
      share: num(d, 'summary.drift_share') ?? 0,
      drifted: num(d, 'summary.drifted') ?? 0,
      features: num(d, 'summary.features') ?? 0,
    })),
    quality: summarizeQuality(qualityDocs.map(qualityRow)),
    performance,
    service,
    serviceSummary: summarizeService(service),
    distributions,
    bounds: options.bounds ?? {},
    comparisons,
    notes,
  };
}
