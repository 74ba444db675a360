/**
 * The service health job: latency percentiles, throughput and error rate per model, version and
 * window, from the prediction stream, written to `metrics-mlmon.service-{ns}` with deterministic ids.
 *
 * Latency percentiles use the HDR histogram of the `percentiles` aggregation with 3 significant
 * digits: every reported value is within 0.1 % of a latency that really occurred at that rank,
 * whatever the distribution (the default t-digest gives no such bound on small or skewed windows).
 * `event.duration` is in nanoseconds (ECS); the document holds milliseconds.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { upsertIntoDataStream, type UpsertResult } from '../elastic/upsert.js';
import { windowFilter } from '../elastic/filters.js';
import { searchOrEmpty } from '../elastic/search.js';
import { resultId, withoutNulls } from '../schema/result-document.js';
import { DEFAULT_NAMESPACE, streamNames } from '../schema/streams.js';
import { checkWindow } from '../schema/window.js';
import type { WindowTarget } from './window-target.js';

/** One model (version) and window: nothing else to say (window-target.ts). */
export type ServiceJobOptions = WindowTarget;

/** Service health of one model version in one window. */
export interface ServiceHealth {
  version: string;
  /** predictions in the window, failed ones included */
  count: number;
  /** failed predictions (`event.outcome: failure` or an `error.type`) */
  errors: number;
  /** errors / count; null for an empty window */
  errorRate: number | null;
  /** predictions per minute over the whole window */
  throughput: number;
  /** latency percentiles in ms; null when no prediction carried `event.duration` */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
}

export interface ServiceJobResult {
  health: ServiceHealth[];
  documents: Array<{ id: string; document: Record<string, unknown> }>;
  written?: UpsertResult;
}

const NS_PER_MS = 1e6;

/** A failed prediction: the logger sets `event.outcome: failure` and `error.*`. */
export const FAILED_PREDICTION: estypes.QueryDslQueryContainer = {
  bool: {
    should: [{ term: { 'event.outcome': 'failure' } }, { exists: { field: 'error.type' } }],
    minimum_should_match: 1,
  },
};

export async function runServiceHealthJob(
  client: Client,
  options: ServiceJobOptions,
): Promise<ServiceJobResult> {
  checkWindow(options.window);
  const streams = streamNames(options.namespace ?? DEFAULT_NAMESPACE);
  const { window } = options;
  const filter: estypes.QueryDslQueryContainer[] = [
    { term: { 'model.name': options.model } },
    windowFilter(window),
  ];
  if (options.version) filter.push({ term: { 'model.version': options.version } });
  const response = await searchOrEmpty(client, {
    index: streams.prediction,
    size: 0,
    query: { bool: { filter } },
    aggs: {
      versions: {
        terms: { field: 'model.version', size: 1000 },
        aggs: {
          errors: { filter: FAILED_PREDICTION },
          latency: {
            percentiles: {
              field: 'event.duration',
              percents: [50, 95, 99],
              hdr: { number_of_significant_value_digits: 3 },
            },
          },
        },
      },
    },
  });
  type VersionBucket = {
    key: unknown;
    doc_count: number;
    errors: { doc_count: number };
    latency: { values: Record<string, number | null> };
  };
  const versionBuckets =
    (response?.aggregations?.versions as { buckets?: VersionBucket[] } | undefined)?.buckets ?? [];
  const minutes = (window.end.getTime() - window.start.getTime()) / 60_000;
  const ms = (v: number | null | undefined): number | null =>
    v === null || v === undefined || !Number.isFinite(v) ? null : v / NS_PER_MS;
  const health: ServiceHealth[] = versionBuckets
    .map((b) => ({
      version: String(b.key),
      count: b.doc_count,
      errors: b.errors.doc_count,
      errorRate: b.doc_count === 0 ? null : b.errors.doc_count / b.doc_count,
      throughput: b.doc_count / minutes,
      latencyMs: {
        p50: ms(b.latency.values['50.0']),
        p95: ms(b.latency.values['95.0']),
        p99: ms(b.latency.values['99.0']),
      },
    }))
    .sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));

  const start = window.start.toISOString();
  const end = window.end.toISOString();
  const documents = health.map((h) => ({
    id: resultId('service', [options.model, h.version, start, end]),
    document: withoutNulls({
      '@timestamp': end,
      window: { start, end, count: h.count },
      model: { name: options.model, version: h.version },
      service: {
        latency: h.latencyMs,
        throughput: h.throughput,
        error_rate: h.errorRate,
        errors: h.errors,
      },
    }) as Record<string, unknown>,
  }));
  if (options.write === false) return { health, documents };
  const written = await upsertIntoDataStream(client, streams.service, documents, {
    refresh: options.refresh,
  });
  if (written.failed.length > 0) {
    throw new Error(`service: ${written.failed.length} documents not written (${written.failed[0]?.reason})`);
  }
  return { health, documents, written };
}
