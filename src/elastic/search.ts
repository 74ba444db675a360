/**
 * The one search path of the analyzer, the profiles and the join: every search refuses a partial
 * answer, tolerates a stream not created yet where asked, and pages through a data stream in time
 * order.
 *
 * Why refuse: Elasticsearch answers a search with the shards it could reach and counts the others
 * in `_shards.failed` (a node down, a primary without a replica unassigned), by default with a 200.
 * A window aggregated from such an answer has partial counts that look complete; written, its lock
 * completed, it would never be computed again. So every search asks
 * `allow_partial_search_results: false` (Elasticsearch then fails the request, a 503 "Search
 * rejected due to missing shards") and the answer is checked all the same (`_shards.failed`,
 * `timed_out`): a partial answer throws {@link PartialResultError}, a transient failure, and the
 * window is left to a later pass.
 */
import type { Client, estypes } from '@elastic/elasticsearch';

/** A search answered without every shard, or cut by its timeout: retry later, never use it. */
export class PartialResultError extends Error {
  /** retrying can fix it (the shard comes back) */
  readonly transient = true;
  constructor(
    readonly index: string,
    readonly shards: { total: number; failed: number },
    readonly timedOut: boolean,
  ) {
    super(
      `partial search answer from ${index}: ${
        timedOut ? 'timed out' : `${shards.failed} of ${shards.total} shards failed`
      }; not used, retried later`,
    );
    this.name = 'PartialResultError';
  }
}

function indexName(request: { index?: estypes.Indices }): string {
  const index = request.index;
  return Array.isArray(index) ? index.join(',') : (index ?? '(point in time)');
}

/** Throws {@link PartialResultError} unless every shard answered in time. */
export function requireComplete(
  response: Pick<estypes.SearchResponse, '_shards' | 'timed_out'>,
  index: string,
): void {
  const failed = response._shards?.failed ?? 0;
  if (failed > 0 || response.timed_out)
    throw new PartialResultError(
      index,
      { total: response._shards?.total ?? 0, failed },
      !!response.timed_out,
    );
}

/** A search that answers for every shard or throws (a 503 from Elasticsearch, or PartialResultError). */
export async function search<T, A = Record<string, estypes.AggregationsAggregate>>(
  client: Client,
  request: estypes.SearchRequest,
  options?: Parameters<Client['search']>[1],
): Promise<estypes.SearchResponse<T, A>> {
  const response = (await client.search<T, A>(
    { allow_partial_search_results: false, ...request },
    options,
  )) as estypes.SearchResponse<T, A>;
  requireComplete(response, indexName(request));
  return response;
}

function isNotFound(error: unknown): boolean {
  const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
  return status === 404;
}

/** A point in time on `index` (kept 2 minutes, renewed by each search in it); undefined when missing. */
export async function openPointInTime(client: Client, index: string): Promise<{ id: string } | undefined> {
  try {
    return { id: (await client.openPointInTime({ index, keep_alive: '2m' })).id };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
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
  /** a point in time the caller opened on `index` and closes (its id is updated as it changes) */
  pit?: { id: string },
): AsyncGenerator<Array<estypes.SearchHit<T>>> {
  const opened = pit ? undefined : await openPointInTime(client, index);
  const current = pit ?? opened;
  if (!current) return;
  let pitId: string = current.id;
  try {
    let searchAfter: estypes.SortResults | undefined;
    for (;;) {
      const response = await search<T>(client, {
        pit: { id: pitId, keep_alive: '2m' },
        query,
        // _shard_doc is the cheapest unique tiebreaker inside a point in time.
        sort: [{ '@timestamp': { order: 'asc' } }, { _shard_doc: { order: 'asc' } }],
        size: pageSize,
        track_total_hits: false,
        ...(searchAfter ? { search_after: searchAfter } : {}),
      });
      if (response.pit_id) pitId = response.pit_id;
      if (pit) pit.id = pitId;
      const hits = response.hits.hits;
      if (hits.length === 0) return;
      yield hits;
      if (hits.length < pageSize) return;
      searchAfter = hits[hits.length - 1]?.sort;
    }
  } finally {
    if (opened) await client.closePointInTime({ id: pitId }).catch(() => undefined);
  }
}

/** Searches `index` (which may not exist yet); a missing index answers like an empty one. */
export async function searchOrEmpty<T, A = Record<string, estypes.AggregationsAggregate>>(
  client: Client,
  request: estypes.SearchRequest,
): Promise<estypes.SearchResponse<T, A> | undefined> {
  try {
    return await search<T, A>(client, { ignore_unavailable: true, allow_no_indices: true, ...request });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A count that answers for every shard or throws {@link PartialResultError}. */
export async function count(client: Client, request: estypes.CountRequest): Promise<number> {
  const response = await client.count(request);
  requireComplete({ _shards: response._shards, timed_out: false }, indexName(request));
  return response.count;
}

/**
 * Whether retrying later can fix `error`: Elasticsearch unreachable or timing out (no status), a
 * 5xx (a shard missing, a node restarting), 429 (overloaded), 408, or a partial answer. Anything
 * else (a 4xx: a bad request, a mapping that contradicts the query, missing privileges; an error
 * of mlmon itself: no baseline, a bad configuration) is not fixed by waiting.
 */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof PartialResultError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: string }).name;
  if (
    name === 'ConnectionError' ||
    name === 'TimeoutError' ||
    name === 'NoLivingConnectionsError' ||
    name === 'RequestAbortedError'
  )
    return true;
  const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
  return status !== undefined && (status >= 500 || status === 429 || status === 408);
}
