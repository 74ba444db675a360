/**
 * Shared plumbing of the performance, join and service jobs: stream names, the time window type,
 * deterministic result ids, and paging through a data stream in time order.
 */
import { createHash } from 'node:crypto';
import type { Client, estypes } from '@elastic/elasticsearch';

/** A half-open analysis window [start, end) on `@timestamp`. */
export interface TimeWindow {
  start: Date;
  end: Date;
}

export const DEFAULT_NAMESPACE = 'default';

/** Names of the data streams (DESIGN.md) and indices the performance jobs read and write. */
export function streamNames(namespace = DEFAULT_NAMESPACE) {
  return {
    prediction: `logs-mlmon.prediction-${namespace}`,
    outcome: `logs-mlmon.outcome-${namespace}`,
    evaluation: `metrics-mlmon.evaluation-${namespace}`,
    performance: `metrics-mlmon.performance-${namespace}`,
    service: `metrics-mlmon.service-${namespace}`,
    state: 'mlmon-state',
  } as const;
}

/** Throws unless the window is two valid dates with start < end. */
export function checkWindow(window: TimeWindow): void {
  const start = window.start.getTime();
  const end = window.end.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError('window: invalid date');
  if (!(start < end)) throw new RangeError('window: start must be before end');
}

/** `@timestamp` range filter of a window (start inclusive, end exclusive, as windows tile time). */
export function windowFilter(window: TimeWindow): estypes.QueryDslQueryContainer {
  return {
    range: {
      '@timestamp': {
        gte: window.start.toISOString(),
        lt: window.end.toISOString(),
        format: 'strict_date_optional_time',
      },
    },
  };
}

/**
 * Deterministic document id from the parts that identify a result (kind, model, version, segment,
 * window). Hashed so that any model or segment name (slashes, spaces, 600 characters) yields a
 * valid `_id` of fixed length; the parts themselves are in the document for humans.
 */
export function resultId(kind: string, parts: ReadonlyArray<string | null | undefined>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(parts.map((p) => p ?? null)))
    .digest('hex')
    .slice(0, 40);
  return `${kind}-${digest}`;
}

/**
 * A copy without null or undefined values (recursively in plain objects): an undefined metric is
 * simply absent from the stored document, which Kibana and alert rules handle, whereas a stored
 * null and a missing field would compare as different documents on re-runs.
 */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutNulls(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      out[k] = withoutNulls(v);
    }
    return out as T;
  }
  return value;
}

function isNotFound(error: unknown): boolean {
  const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
  return status === 404;
}

/**
 * Pages through the documents of `index` matching `query` in ascending `@timestamp` order, inside a
 * point in time so that documents indexed meanwhile neither shift nor repeat pages. A missing
 * stream yields nothing.
 */
export async function* pagesByTime<T>(
  client: Client,
  index: string,
  query: estypes.QueryDslQueryContainer,
  pageSize: number,
): AsyncGenerator<Array<estypes.SearchHit<T>>> {
  let pitId: string;
  try {
    pitId = (await client.openPointInTime({ index, keep_alive: '2m' })).id;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  try {
    let searchAfter: estypes.SortResults | undefined;
    for (;;) {
      const response = await client.search<T>({
        pit: { id: pitId, keep_alive: '2m' },
        query,
        // _shard_doc is the cheapest unique tiebreaker inside a point in time.
        sort: [{ '@timestamp': { order: 'asc' } }, { _shard_doc: { order: 'asc' } }],
        size: pageSize,
        track_total_hits: false,
        ...(searchAfter ? { search_after: searchAfter } : {}),
      });
      if (response.pit_id) pitId = response.pit_id;
      const hits = response.hits.hits;
      if (hits.length === 0) return;
      yield hits;
      if (hits.length < pageSize) return;
      searchAfter = hits[hits.length - 1]?.sort;
    }
  } finally {
    await client.closePointInTime({ id: pitId }).catch(() => undefined);
  }
}

/** Searches `index` (which may not exist yet); a missing index answers like an empty one. */
export async function searchOrEmpty<T, A = Record<string, estypes.AggregationsAggregate>>(
  client: Client,
  request: estypes.SearchRequest,
): Promise<estypes.SearchResponse<T, A> | undefined> {
  try {
    return await client.search<T, A>({ ignore_unavailable: true, allow_no_indices: true, ...request });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
