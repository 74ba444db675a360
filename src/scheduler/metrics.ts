/**
 * Prometheus metrics of the scheduler: the latest drift, performance and service figures per
 * model, and the scheduler's own health. A registry of its own (never prom-client's global one),
 * so that an application embedding the scheduler keeps its metrics apart.
 *
 * Figures come from the result documents the jobs return, and at start from the latest result
 * documents in Elasticsearch ({@link seedLatestResults}), so a restarted scheduler does not serve
 * empty gauges until its next window. A gauge only moves to a document whose window ends no
 * earlier than the one it shows, so catching up (oldest window first) or seeding after a fresh
 * result never shows an older figure as the latest.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ModelConfig } from '../schema/config.js';
import { parseStream, resultStream, type ResultStreamKind } from '../schema/streams.js';
import type { ResultDocument, ResultSummary } from './jobs/contract.js';

const RESULT_LABELS = ['namespace', 'model', 'version'] as const;
/** `drift.severity` as a number for `mlmon_feature_drift_severity` (stats/drift/decide.ts). */
const SEVERITY_LEVEL: Record<string, number> = { none: 0, low: 1, medium: 2, high: 3 };
const JOB_LABELS = ['namespace', 'model', 'job'] as const;

/** Numeric leaves of `performance.*` as `accuracy`, `confusion_tp`, `estimated_accuracy`… */
function numericLeaves(value: unknown, prefix = ''): Array<[string, number]> {
  if (typeof value === 'number' && Number.isFinite(value)) return [[prefix, value]];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    // The confusion matrix is keyed by class names: unbounded label values, not a metric.
    k === 'confusion_matrix' ? [] : numericLeaves(v, prefix ? `${prefix}_${k}` : k),
  );
}

export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly latestWindowEnd = new Map<string, number>();
  /** Checkpoint (ms) per job target, for the lag computed at scrape time. */
  private readonly checkpoints = new Map<string, { labels: Record<string, string>; checkpoint: number }>();

  readonly driftScore = new Gauge({
    name: 'mlmon_drift_score',
    help: 'Drift score of the latest analyzed window, per feature',
    labelNames: [...RESULT_LABELS, 'feature'],
    registers: [this.registry],
  });
  readonly driftDetected = new Gauge({
    name: 'mlmon_drift_detected',
    help: '1 when drift was detected in the latest analyzed window, else 0',
    labelNames: [...RESULT_LABELS, 'feature'],
    registers: [this.registry],
  });
  /** What prometheus/mlmon.rules.yml alerts on, as the Kibana drift rule does (issue 27). */
  readonly featureDriftSeverity = new Gauge({
    name: 'mlmon_feature_drift_severity',
    help: 'Drift severity of a model input (feature role) in the latest analyzed window: 0 none, 1 low, 2 medium, 3 high',
    labelNames: [...RESULT_LABELS, 'feature'],
    registers: [this.registry],
  });
  readonly performance = new Gauge({
    name: 'mlmon_performance',
    help: 'Model performance metric of the latest analyzed window (accuracy, f1, rmse, estimated_accuracy…)',
    labelNames: [...RESULT_LABELS, 'metric'],
    registers: [this.registry],
  });
  readonly performanceDegraded = new Gauge({
    name: 'mlmon_performance_degraded',
    help: '1 when performance was outside its configured bounds in the latest analyzed window, else 0',
    labelNames: [...RESULT_LABELS],
    registers: [this.registry],
  });
  readonly estimateDegraded = new Gauge({
    name: 'mlmon_performance_estimate_degraded',
    help: '1 when the estimated (label-free) performance was outside its bounds in the latest analyzed window, else 0',
    labelNames: [...RESULT_LABELS],
    registers: [this.registry],
  });
  readonly estimateUnreliable = new Gauge({
    name: 'mlmon_performance_estimate_unreliable',
    help: "1 when the latest analyzed window's estimate was judged unreliable (labels contradict it, or its calibration is not trusted), 0 when judged reliable; absent when not judged",
    labelNames: [...RESULT_LABELS],
    registers: [this.registry],
  });
  readonly serviceLatency = new Gauge({
    name: 'mlmon_service_latency_ms',
    help: 'Inference latency quantile of the latest analyzed window, milliseconds',
    labelNames: [...RESULT_LABELS, 'quantile'],
    registers: [this.registry],
  });
  readonly serviceThroughput = new Gauge({
    name: 'mlmon_service_throughput_per_minute',
    help: 'Predictions per minute in the latest analyzed window',
    labelNames: [...RESULT_LABELS],
    registers: [this.registry],
  });
  readonly serviceErrorRate = new Gauge({
    name: 'mlmon_service_error_rate',
    help: 'Share of failed predictions in the latest analyzed window',
    labelNames: [...RESULT_LABELS],
    registers: [this.registry],
  });
  readonly resultWindowEnd = new Gauge({
    name: 'mlmon_result_window_end_seconds',
    help: 'End of the latest analyzed window per result kind, Unix seconds',
    labelNames: [...RESULT_LABELS, 'kind'],
    registers: [this.registry],
  });
  readonly windowsProcessed = new Counter({
    name: 'mlmon_scheduler_windows_processed_total',
    help: 'Windows this scheduler processed to completion',
    labelNames: [...JOB_LABELS],
    registers: [this.registry],
  });
  readonly windowFailures = new Counter({
    name: 'mlmon_scheduler_window_failures_total',
    help: 'Window runs that failed (job error or lost lock)',
    labelNames: [...JOB_LABELS],
    registers: [this.registry],
  });
  readonly lockTakeovers = new Counter({
    name: 'mlmon_scheduler_lock_takeovers_total',
    help: 'Expired locks of other replicas this scheduler took over',
    labelNames: [...JOB_LABELS],
    registers: [this.registry],
  });
  readonly hookCalls = new Counter({
    name: 'mlmon_scheduler_hook_calls_total',
    help: 'Hook calls by outcome (ok, failed)',
    labelNames: ['hook', 'outcome'],
    registers: [this.registry],
  });
  readonly reportsSent = new Counter({
    name: 'mlmon_report_emails_sent_total',
    help: 'Report e-mails this scheduler sent (one per report job and period)',
    labelNames: ['namespace', 'report'],
    registers: [this.registry],
  });
  readonly reportSendFailures = new Counter({
    name: 'mlmon_report_send_failures_total',
    help: 'Failed attempts to send a report e-mail (each retry that failed counts once)',
    labelNames: ['namespace', 'report'],
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: 'mlmon_scheduler_lag_seconds',
    help: 'Seconds between now and the end of the latest window up to which every window is settled',
    labelNames: [...JOB_LABELS, 'version'],
    registers: [this.registry],
    collect: () => {
      // Computed at scrape time so that a stuck scheduler shows a growing lag.
      const now = Date.now();
      for (const { labels, checkpoint } of this.checkpoints.values())
        this.lag.set(labels, Math.max(0, (now - checkpoint) / 1000));
    },
  });

  constructor(owner?: string) {
    if (owner !== undefined) {
      const info = new Gauge({
        name: 'mlmon_scheduler_info',
        help: 'Always 1; the owner label is the identity this replica writes into locks',
        labelNames: ['owner'],
        registers: [this.registry],
      });
      info.set({ owner }, 1);
    }
  }

  /** Updates the figures from result documents (from a job, or read back from Elasticsearch). */
  observe(results: ResultSummary[]): void {
    for (const result of results) {
      const stream = parseStream(result.stream);
      if (stream?.type !== 'metrics') continue;
      const doc = result.document;
      const labels = {
        namespace: stream.namespace,
        model: doc.model?.name ?? '',
        version: doc.model?.version ?? '',
      };
      const windowEnd = Date.parse(doc.window?.end ?? doc['@timestamp'] ?? '');
      if (Number.isNaN(windowEnd)) continue;
      // Per-segment documents are slices, not the model's figure.
      if (doc.segment?.name !== undefined) continue;
      const feature = doc.feature?.name;
      const seriesKey = JSON.stringify([stream.kind, labels, feature]);
      if ((this.latestWindowEnd.get(seriesKey) ?? -Infinity) > windowEnd) continue;
      this.latestWindowEnd.set(seriesKey, windowEnd);
      this.observeDocument(stream.kind, labels, doc);
      const kindKey = JSON.stringify(['kind', stream.kind, labels]);
      if ((this.latestWindowEnd.get(kindKey) ?? -Infinity) <= windowEnd) {
        this.latestWindowEnd.set(kindKey, windowEnd);
        this.resultWindowEnd.set({ ...labels, kind: stream.kind }, windowEnd / 1000);
      }
    }
  }

  private observeDocument(
    kind: string,
    labels: { namespace: string; model: string; version: string },
    doc: ResultDocument,
  ): void {
    if (kind === 'drift' && doc.feature?.name !== undefined) {
      const featureLabels = { ...labels, feature: doc.feature.name };
      if (typeof doc.drift?.score === 'number') this.driftScore.set(featureLabels, doc.drift.score);
      if (typeof doc.drift?.detected === 'boolean')
        this.driftDetected.set(featureLabels, doc.drift.detected ? 1 : 0);
      const role = (doc.feature as { role?: unknown }).role;
      const level = SEVERITY_LEVEL[String(doc.drift?.severity)];
      if (role === 'feature' && level !== undefined) this.featureDriftSeverity.set(featureLabels, level);
    } else if (kind === 'performance' && doc.performance) {
      for (const [metric, value] of numericLeaves(doc.performance))
        this.performance.set({ ...labels, metric }, value);
      if (typeof doc.performance.degraded === 'boolean')
        this.performanceDegraded.set(labels, doc.performance.degraded ? 1 : 0);
      const estimated = doc.performance.estimated as { degraded?: unknown; reliable?: unknown } | undefined;
      if (doc.performance.scope === 'model' && estimated) {
        if (typeof estimated.degraded === 'boolean')
          this.estimateDegraded.set(labels, estimated.degraded ? 1 : 0);
        if (typeof estimated.reliable === 'boolean')
          this.estimateUnreliable.set(labels, estimated.reliable ? 0 : 1);
      }
    } else if (kind === 'service' && doc.service) {
      const latency = doc.service.latency ?? {};
      for (const [quantile, key] of [
        ['0.5', 'p50'],
        ['0.95', 'p95'],
        ['0.99', 'p99'],
      ] as const) {
        const value = latency[key];
        if (typeof value === 'number') this.serviceLatency.set({ ...labels, quantile }, value);
      }
      if (typeof doc.service.throughput === 'number')
        this.serviceThroughput.set(labels, doc.service.throughput);
      if (typeof doc.service.error_rate === 'number')
        this.serviceErrorRate.set(labels, doc.service.error_rate);
    }
  }

  recordCheckpoint(
    target: { namespace: string; model: string; job: string; version?: string },
    checkpoint: number,
  ): void {
    const labels = {
      namespace: target.namespace,
      model: target.model,
      job: target.job,
      version: target.version ?? '',
    };
    this.checkpoints.set(JSON.stringify(labels), { labels, checkpoint });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Reads the latest drift (per version and feature), performance and service (per version)
 * documents of the configured models and feeds them to the metrics. Missing streams are fine.
 * Returns how many documents were read.
 */
export async function seedLatestResults(
  client: Client,
  metrics: SchedulerMetrics,
  models: ModelConfig[],
): Promise<number> {
  let seeded = 0;
  for (const model of models) {
    const filter: estypes.QueryDslQueryContainer[] = [{ term: { 'model.name': model.name } }];
    if (model.versions !== 'all') filter.push({ terms: { 'model.version': model.versions } });
    const latest: estypes.AggregationsAggregationContainer = {
      top_hits: { size: 1, sort: [{ '@timestamp': { order: 'desc' } }] },
    };
    const requests: Array<{
      kind: ResultStreamKind;
      extra: estypes.QueryDslBoolQuery;
      aggs: Record<string, estypes.AggregationsAggregationContainer>;
    }> = [
      {
        kind: 'drift',
        extra: {},
        aggs: { features: { terms: { field: 'feature.name', size: 10_000 }, aggs: { latest } } },
      },
      { kind: 'performance', extra: { must_not: [{ exists: { field: 'segment.name' } }] }, aggs: { latest } },
      {
        kind: 'service',
        extra: {
          must_not: [{ exists: { field: 'segment.name' } }],
          should: [
            { exists: { field: 'service.latency.p50' } },
            { exists: { field: 'service.throughput' } },
            { exists: { field: 'service.error_rate' } },
          ],
          minimum_should_match: 1,
        },
        aggs: { latest },
      },
    ];
    for (const request of requests) {
      const stream = resultStream(request.kind, model.namespace);
      const response = await client.search({
        index: stream,
        size: 0,
        ignore_unavailable: true,
        allow_no_indices: true,
        query: { bool: { filter, ...request.extra } },
        aggs: { versions: { terms: { field: 'model.version', size: 1000 }, aggs: request.aggs } },
      });
      type Hit = { _id: string; _source: ResultDocument };
      type Latest = { latest: { hits: { hits: Hit[] } } };
      const versions =
        (
          response.aggregations?.versions as {
            buckets?: Array<Latest & { features?: { buckets: Latest[] } }>;
          }
        )?.buckets ?? [];
      const hits = versions.flatMap((v) =>
        v.features ? v.features.buckets.flatMap((f) => f.latest.hits.hits) : v.latest.hits.hits,
      );
      metrics.observe(hits.map((h) => ({ stream, id: h._id, document: h._source })));
      seeded += hits.length;
    }
  }
  return seeded;
}
