/**
 * Helpers for the logger tests: a client on the real Elasticsearch, the shipped templates, and
 * exact per-id counts of what landed in a data stream.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { installTemplates } from '../../src/elastic/templates.js';

let installed: Promise<unknown> | undefined;

/** Installs the shipped index templates once per test file (idempotent on the server too). */
export function ensureTemplates(client: Client): Promise<unknown> {
  installed ??= installTemplates(client);
  return installed;
}

export function tempSpoolDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mlmon-${prefix}-`));
}

/**
 * How many documents each `prediction.id` has in `index` (refreshed first). Exact: a terms
 * aggregation over every id, so a duplicate shows as a count of 2.
 */
export async function countsById(client: Client, index: string): Promise<Map<string, number>> {
  await client.indices.refresh({ index, ignore_unavailable: true });
  const counts = new Map<string, number>();
  let after: Record<string, string | number> | undefined;
  for (;;) {
    const response = await client.search({
      index,
      size: 0,
      ignore_unavailable: true,
      aggs: {
        ids: {
          composite: {
            size: 10_000,
            sources: [{ id: { terms: { field: 'prediction.id' } } }],
            ...(after ? { after } : {}),
          },
        },
      },
    });
    const agg = (
      response.aggregations as
        | {
            ids?: {
              buckets: Array<{ key: { id: string }; doc_count: number }>;
              after_key?: Record<string, string>;
            };
          }
        | undefined
    )?.ids;
    if (!agg || agg.buckets.length === 0) break;
    for (const bucket of agg.buckets) counts.set(bucket.key.id, bucket.doc_count);
    after = agg.after_key;
    if (!after) break;
  }
  return counts;
}

/** Total documents in `index` (refreshed first), 0 when it does not exist. */
export async function countDocs(client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index, ignore_unavailable: true });
  const response = await client.count({ index, ignore_unavailable: true });
  return response.count;
}

/** Asserts-by-returning: ids missing, ids stored more than once, ids not expected. */
export function compareIds(expected: Iterable<string>, counts: Map<string, number>) {
  const missing: string[] = [];
  const duplicated: string[] = [];
  const want = new Set(expected);
  for (const id of want) {
    const n = counts.get(id) ?? 0;
    if (n === 0) missing.push(id);
    else if (n > 1) duplicated.push(id);
  }
  const unexpected = [...counts.keys()].filter((id) => !want.has(id));
  return { missing, duplicated, unexpected };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
