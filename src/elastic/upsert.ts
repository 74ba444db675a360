/**
 * Writes documents with deterministic ids into a data stream so that writing the same id again
 * replaces the document instead of adding a second one.
 *
 * Data streams accept only `op_type: create`, and an `_id` is unique only within one backing
 * index. So we look the ids up in every backing index first (real-time multi-get): a found document is replaced in the
 * backing index that holds it (`_index`, with `if_seq_no` / `if_primary_term`, which is how Elastic
 * documents updating a document in a data stream); a missing one is created. A concurrent writer
 * that got there in between makes that write fail with 409; we look again and retry a few times,
 * and the last writer wins. Documents whose content is unchanged are left alone.
 * Every document written into an mlmon data stream gets that stream's `data_stream` fields
 * (type, dataset, namespace), so every writer of result documents carries them without knowing.
 */
import type { Client } from '@elastic/elasticsearch';
import { dataStreamFields } from '../schema/streams.js';

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

/** Backing indices of a data stream (or the index itself when it is a plain index); [] when absent. */
export async function backingIndices(client: Client, name: string): Promise<string[]> {
  const resolved = await client.indices.resolveIndex({ name, expand_wildcards: 'all' }, { ignore: [404] });
  const stream = (resolved.data_streams ?? []).find((d) => d.name === name);
  if (stream)
    return Array.isArray(stream.backing_indices) ? stream.backing_indices : [stream.backing_indices];
  return (resolved.indices ?? []).filter((x) => x.name === name).map((x) => x.name);
}

interface Location {
  index: string;
  seqNo: number;
  primaryTerm: number;
  source: unknown;
}

/**
 * Where each id already is, across every backing index. A real-time multi-get, not a search, so a
 * document written a moment ago (not yet refreshed) is found too.
 */
async function locate(client: Client, dataStream: string, ids: string[]): Promise<Map<string, Location>> {
  const found = new Map<string, Location>();
  const backing = await backingIndices(client, dataStream);
  for (let i = 0; i < ids.length && backing.length > 0; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const response = await client.mget({
      docs: backing.flatMap((index) => chunk.map((id) => ({ _index: index, _id: id }))),
    });
    for (const doc of response.docs) {
      const hit = doc as {
        _index: string;
        _id: string;
        found?: boolean;
        _seq_no?: number;
        _primary_term?: number;
        _source?: unknown;
      };
      if (hit.found && hit._seq_no !== undefined && hit._primary_term !== undefined) {
        found.set(hit._id, {
          index: hit._index,
          seqNo: hit._seq_no,
          primaryTerm: hit._primary_term,
          source: hit._source,
        });
      }
    }
  }
  return found;
}

/**
 * A field set on every document actually written (created or replaced) and ignored when comparing
 * with the stored copy: e.g. when a labelled prediction was (re)joined, so that readers can find
 * what changed since a time without a re-run marking unchanged documents as new.
 */
export interface WriteStamp {
  /** dotted path, e.g. `eval.joined_at` (its parent object must exist in every document) */
  field: string;
  value: string | number;
}

function withoutField(source: unknown, path: readonly string[]): unknown {
  if (path.length === 0 || !source || typeof source !== 'object') return source;
  const [head, ...rest] = path as [string, ...string[]];
  const copy = { ...(source as Record<string, unknown>) };
  if (rest.length === 0) delete copy[head];
  else if (head in copy) copy[head] = withoutField(copy[head], rest);
  return copy;
}

function withField(source: Record<string, unknown>, path: readonly string[], value: unknown) {
  const [head, ...rest] = path as [string, ...string[]];
  const copy = { ...source };
  copy[head] =
    rest.length === 0 ? value : withField((copy[head] as Record<string, unknown>) ?? {}, rest, value);
  return copy;
}

export async function upsertIntoDataStream(
  client: Client,
  dataStream: string,
  docs: UpsertDocument[],
  options: { refresh?: boolean; maxAttempts?: number; stamp?: WriteStamp } = {},
): Promise<UpsertResult> {
  const stampPath = options.stamp?.field.split('.');
  const stamped = (document: Record<string, unknown>) =>
    stampPath ? withField(document, stampPath, options.stamp?.value) : document;
  const comparable = (source: unknown) => (stampPath ? withoutField(source, stampPath) : source);
  const result: UpsertResult = { created: 0, updated: 0, unchanged: 0, failed: [] };
  if (docs.length === 0) return result;
  const streamFields = dataStreamFields(dataStream);
  const byId = new Map(
    docs.map((d) => [
      d.id,
      streamFields ? { id: d.id, document: { ...d.document, data_stream: streamFields } } : d,
    ]),
  );
  let pending = [...byId.keys()];
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt++) {
    // Look first: ids are unique per backing index only, so after a rollover a blind `create`
    // would add a second copy in the new write index instead of answering 409.
    const located = await locate(client, dataStream, pending);
    const operations: unknown[] = [];
    for (const id of pending) {
      const wanted = byId.get(id) as UpsertDocument;
      const where = located.get(id);
      if (!where) {
        operations.push({ create: { _index: dataStream, _id: id } }, stamped(wanted.document));
      } else if (canonical(comparable(where.source)) === canonical(wanted.document)) {
        result.unchanged++;
      } else {
        operations.push(
          {
            index: {
              _index: where.index,
              _id: id,
              if_seq_no: where.seqNo,
              if_primary_term: where.primaryTerm,
            },
          },
          stamped(wanted.document),
        );
      }
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
