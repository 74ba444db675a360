/**
 * (`eval.joined_at` is epoch ms: a `date` in the shipped template, a dynamically mapped `long` on a
 * cluster whose template predates it; range filters and `max` read both the same way, so no
 * `format` is given.)
 *
 * Which windows received new or corrected labels since a point in time: the input of the
 * scheduler's re-computation of realised performance (docs/performance.md, "Late labels").
 *
 * The join stamps every evaluation document it creates or changes with `eval.joined_at` (the wall
 * clock of the write; an unchanged re-join keeps the old stamp). So "labels that arrived since t"
 * is a range filter on `eval.joined_at`, and "their windows" a `date_histogram` on the prediction's
 * `@timestamp` with the window size as fixed interval (buckets aligned to the epoch, like the
 * scheduler's windows). One size-0 search whose cost grows with the labels that arrived, not with
 * the history: the range on an indexed date selects only those documents.
 */
import type { Client } from '@elastic/elasticsearch';
import { JOINED_AT_FIELD } from './join.js';
import { searchOrEmpty } from '../elastic/search.js';
import { DEFAULT_NAMESPACE, streamNames } from '../schema/streams.js';

export interface LabelledWindowsOptions {
  namespace?: string;
  model: string;
  /** one version; default every version */
  version?: string;
  windowMs: number;
  /** only predictions at or after this time (epoch ms): the label horizon */
  horizonStart: number;
  /** only labels joined at or after this time (epoch ms); null for every label */
  since: number | null;
  /** also count, per window, the labels joined at or after this time (epoch ms, ≥ since) */
  recentFrom: number;
}

/** A window whose predictions received labels in the range asked. */
export interface LabelledWindow {
  /** window start, epoch ms */
  start: number;
  /** evaluation documents joined at or after `since`, and the latest `joined_at` among them */
  count: number;
  latest: number;
  /** the same for documents joined at or after `recentFrom` */
  recent: { count: number; latest: number | null };
}

interface HistogramAnswer {
  windows?: {
    buckets?: Array<{
      key: number;
      doc_count: number;
      latest?: { value: number | null };
      recent?: { doc_count: number; latest?: { value: number | null } };
    }>;
  };
}

export async function labelledWindows(
  client: Client,
  options: LabelledWindowsOptions,
): Promise<LabelledWindow[]> {
  const streams = streamNames(options.namespace ?? DEFAULT_NAMESPACE);
  const filter: Array<Record<string, unknown>> = [
    { term: { 'model.name': options.model } },
    { range: { '@timestamp': { gte: options.horizonStart, format: 'epoch_millis' } } },
  ];
  if (options.version !== undefined) filter.push({ term: { 'model.version': options.version } });
  if (options.since !== null) filter.push({ range: { [JOINED_AT_FIELD]: { gte: options.since } } });
  const response = await searchOrEmpty<unknown, HistogramAnswer>(client, {
    index: streams.evaluation,
    size: 0,
    query: { bool: { filter } },
    aggs: {
      windows: {
        date_histogram: { field: '@timestamp', fixed_interval: `${options.windowMs}ms`, min_doc_count: 1 },
        aggs: {
          latest: { max: { field: JOINED_AT_FIELD } },
          recent: {
            filter: { range: { [JOINED_AT_FIELD]: { gte: options.recentFrom } } },
            aggs: { latest: { max: { field: JOINED_AT_FIELD } } },
          },
        },
      },
    },
  });
  return (response?.aggregations?.windows?.buckets ?? []).map((b) => ({
    start: b.key,
    count: b.doc_count,
    latest: b.latest?.value ?? 0,
    recent: { count: b.recent?.doc_count ?? 0, latest: b.recent?.latest?.value ?? null },
  }));
}
