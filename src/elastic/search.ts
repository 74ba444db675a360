/**
 * Searches that tolerate a stream not created yet, and paging through a data stream in time order:
 * shared by the join, performance, service and version-comparison jobs.
 */
import type { Client, estypes } from '@elastic/elasticsearch';

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
