/**
 * The look-up before a re-send. `_id` + `create` rules out a duplicate within one backing index
 * only: a document whose first attempt went unanswered (timeout, reset connection) may have been
 * stored, and a rollover since would let the re-send land in the new backing index as a second
 * copy. So before re-sending, ask every backing index of the stream, with a real-time multi-get
 * (it sees a document stored a moment ago, before any refresh).
 */
import type { Client } from '@elastic/elasticsearch';
import { backingIndices } from '../elastic/upsert.js';

/** Documents per multi-get request (ids × backing indices). */
export const MGET_MAX_DOCS = 5000;

/** The key of a document in the answer of {@link alreadyStored}. */
export function storedKey(index: string, id: string): string {
  return `${index}\n${id}`;
}

/**
 * Which of `items` are already in their data stream, as {@link storedKey} keys. A stream that does
 * not exist yet holds nothing. Rejects when Elasticsearch does not answer (the caller then treats
 * the batch like a failed request) or refuses (401/403: credentials that may only write).
 */
export async function alreadyStored(
  client: Client,
  items: Iterable<{ index: string; id: string }>,
  options: { requestTimeoutMs: number; signal?: AbortSignal },
): Promise<Set<string>> {
  const byIndex = new Map<string, string[]>();
  for (const item of items) {
    const ids = byIndex.get(item.index);
    if (ids) ids.push(item.id);
    else byIndex.set(item.index, [item.id]);
  }
  const requestOptions = { maxRetries: 0, requestTimeout: options.requestTimeoutMs, signal: options.signal };
  const stored = new Set<string>();
  for (const [stream, ids] of byIndex) {
    const backing = await backingIndices(client, stream);
    if (backing.length === 0) continue; // the stream does not exist yet: nothing can be there
    const step = Math.max(1, Math.floor(MGET_MAX_DOCS / backing.length));
    for (let i = 0; i < ids.length; i += step) {
      const chunk = ids.slice(i, i + step);
      const response = await client.mget(
        {
          docs: backing.flatMap((index) => chunk.map((id) => ({ _index: index, _id: id }))),
          _source: false,
          filter_path: 'docs._id,docs.found',
        },
        requestOptions,
      );
      for (const doc of response.docs as Array<{ _id?: string; found?: boolean }>)
        if (doc.found && doc._id !== undefined) stored.add(storedKey(stream, doc._id));
    }
  }
  return stored;
}
