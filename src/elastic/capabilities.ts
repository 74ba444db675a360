/**
 * Aggregations that not every cluster has: `matrix_stats` lives in the aggregations module (absent
 * from Elastic's integ-test distribution), `random_sampler` needs 8.2+. Probed once per client
 * with a size-0 search that matches nothing, and remembered.
 */
import type { Client } from '@elastic/elasticsearch';
import { streamPattern } from '../schema/streams.js';

export interface Capabilities {
  matrixStats: boolean;
  randomSampler: boolean;
}

const cache = new WeakMap<Client, Promise<Capabilities>>();

export function capabilities(client: Client): Promise<Capabilities> {
  let found = cache.get(client);
  if (!found) {
    found = probe(client);
    cache.set(client, found);
  }
  return found;
}

async function probe(client: Client): Promise<Capabilities> {
  const [matrixStats, randomSampler] = await Promise.all([
    supports(client, { matrix_stats: { fields: ['@timestamp'] } }),
    supports(client, { random_sampler: { probability: 0.5 }, aggs: { n: { max: { field: '@timestamp' } } } }),
  ]);
  return { matrixStats, randomSampler };
}

async function supports(client: Client, agg: Record<string, unknown>): Promise<boolean> {
  try {
    await client.search({
      index: streamPattern('prediction'),
      allow_no_indices: true,
      ignore_unavailable: true,
      size: 0,
      query: { match_none: {} },
      aggs: { probe: agg },
    });
    return true;
  } catch (error) {
    const text = JSON.stringify((error as { meta?: { body?: unknown } }).meta?.body ?? String(error));
    if (/unknown aggregation type|named_object_not_found/i.test(text)) return false;
    throw error;
  }
}
