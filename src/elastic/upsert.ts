/**
 * Writes documents with deterministic ids into a data stream so that writing the same id again
 * replaces the document instead of adding a second one.
 *
 * Data streams accept only `op_type: create`, and an `_id` is unique only within one backing
 * index. So we search the whole stream for the ids first: a found document is replaced in the
 * backing index that holds it (`_index`, with `if_seq_no` / `if_primary_term`, which is how Elastic
 * documents updating a document in a data stream); a missing one is created. A concurrent writer
 * that got there in between makes that write fail with 409; we look again and retry a few times,
 * and the last writer wins. Documents whose content is unchanged are left alone.
 */
import type { Client } from '@elastic/elasticsearch';

export interface UpsertDocument {
  id: string;
  document: Record<string, unknown>;
}

export interface UpsertResult {
  created: number;
  updated: number;
  unchanged: number;
  failed: Array<{ id: string; status: number; reason: string }>;
}

/** Stable JSON (sorted keys) so that "unchanged" does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function upsertIntoDataStream(
  client: Client,
  dataStream: string,
  docs: UpsertDocument[],
  options: { refresh?: boolean; maxAttempts?: number } = {},
): Promise<UpsertResult> {
  const result: UpsertResult = { created: 0, updated: 0, unchanged: 0, failed: [] };
  if (docs.length === 0) return result;
  const byId = new Map(docs.map((d) => [d.id, d]));
  let pending = [...byId.keys()];
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt++) {
    // Look first: ids are unique per backing index only, so after a rollover a blind `create`
    // would add a second copy in the new write index instead of answering 409.
    if (attempt > 0) await client.indices.refresh({ index: dataStream, ignore_unavailable: true });
    const found = await client.search<Record<string, unknown>>(
      {
        index: dataStream,
        query: { ids: { values: pending } },
        size: pending.length,
        seq_no_primary_term: true,
      },
      { ignore: [404] },
    );
    const operations: unknown[] = [];
    const located = new Set<string>();
    for (const hit of found.hits?.hits ?? []) {
      const id = hit._id as string;
      located.add(id);
      const wanted = byId.get(id);
      if (!wanted) continue;
      if (canonical(hit._source) === canonical(wanted.document)) {
        result.unchanged++;
        continue;
      }
      operations.push(
        {
          index: { _index: hit._index, _id: id, if_seq_no: hit._seq_no, if_primary_term: hit._primary_term },
        },
        wanted.document,
      );
    }
    for (const id of pending) {
      if (!located.has(id))
        operations.push({ create: { _index: dataStream, _id: id } }, byId.get(id)?.document);
    }
    const retry: string[] = [];
    if (operations.length > 0) {
      const response = await client.bulk({ operations, refresh: false });
      for (const item of response.items) {
        const op = item.index ?? item.create;
        if (!op) continue;
        const id = op._id as string;
        if (op.status === 200 || op.status === 201) {
          if (item.create) result.created++;
          else result.updated++;
        } else if (op.status === 409) {
          retry.push(id); // another writer got there first: look again and update
        } else {
          result.failed.push({ id, status: op.status, reason: op.error?.reason ?? String(op.error?.type) });
        }
      }
    }
    pending = retry;
  }
  for (const id of pending) result.failed.push({ id, status: 409, reason: 'conflicting concurrent writes' });
  if (options.refresh) await client.indices.refresh({ index: dataStream });
  return result;
}
