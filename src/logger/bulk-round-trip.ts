/**
 * One bulk round trip, apart from the flush loop (as elasticsearch-js keeps its bulk helper's
 * `tryBulk` apart from its flush loop, src/helpers.ts at dcc98b2): for a batch, the look-up before
 * a re-send (resend-check.ts), the request body, the request, and a verdict per document sorted
 * into buckets. What to do with each bucket (count, retry with backoff, hold, dead-letter, spill)
 * is the shipper's; this function keeps no state, so every verdict is tested against a real
 * cluster without the loop (test/logger/bulk-round-trip.test.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import type { DeadLetterReason } from '../schema/deadletter.js';
import type { Destination } from '../schema/streams.js';
import { classifyBulkItem, statusOf, type BulkResponseItem, type HoldReason } from './bulk-item.js';
import { alreadyStored, storedKey } from './resend-check.js';

/** What the round trip reads of a document. */
export interface BulkDocument {
  index: string;
  id: string;
  /** Serialised JSON. */
  doc: string;
  /** Where `index` is a data stream or a regular index (the pairs index): see `destinationOf`. */
  destination: Destination;
  /** An earlier attempt may have stored it: looked up in every backing index before sending. */
  resend: boolean;
}

/** Where each document of a batch stands after one round trip. */
export interface BulkVerdicts<T> {
  /** Stored now (2xx). */
  stored: T[];
  /** Already there: a 409 on create, or found by the look-up before a re-send (not sent). */
  conflicts: T[];
  /** 408, 429, 5xx, a write block, no answer for the item: worth trying again. */
  retry: Array<{ item: T; status: number | undefined }>;
  /** Waits for the operator (a missing privilege, no data stream): keep it, never drop it. */
  held: Array<{ item: T; why: HoldReason; detail: string }>;
  /** The document itself is refused (a mapping conflict…): goes to the dead-letter stream. */
  deadLetter: Array<{ item: T; reason: DeadLetterReason }>;
  /**
   * The request (or the look-up before it) got no answer or was refused as a whole: these
   * documents have no verdict (`error` says why); the others above do.
   */
  failed: { items: T[]; error: unknown } | undefined;
  /** The look-up was refused with this status (credentials that may only write): sent without it. */
  lookupRefused: number | undefined;
}

export interface RoundTripOptions {
  requestTimeoutMs: number;
  signal?: AbortSignal;
  /** Asked after each request: true stops the round trip (undefined result; the batch was spilled). */
  cancelled?: () => boolean;
}

const ACTION_HEAD = '{"create":{"_index":"';
/**
 * Where the body stamps `event.ingested` (every mlmon document has an `event` object): the time the
 * batch is sent, so a spooled document replayed after an outage gets the time of its replay. The
 * join reads new outcomes by it, not by their own `@timestamp` (analyzer/join.ts).
 */
const EVENT_HEAD = '"event":{';
/** The parts of a bulk answer the shipper reads: per item, its status and error. */
const BULK_FILTER = 'items.*.status,items.*.error';

/** `doc` (serialised JSON) with `event.ingested` set to `iso`; unchanged when it has no `event`. */
export function stampIngested(doc: string, iso: string): string {
  const at = doc.indexOf(EVENT_HEAD);
  if (at < 0) return doc;
  const rest = at + EVENT_HEAD.length;
  const comma = doc[rest] === '}' ? '' : ',';
  return `${doc.slice(0, rest)}"ingested":"${iso}"${comma}${doc.slice(rest)}`;
}

function emptyVerdicts<T>(): BulkVerdicts<T> {
  return {
    stored: [],
    conflicts: [],
    retry: [],
    held: [],
    deadLetter: [],
    failed: undefined,
    lookupRefused: undefined,
  };
}

/**
 * Sends `batch` as one bulk request of `create`s and sorts every document into a bucket. Never
 * rejects: a failed request is `failed`. Undefined when `options.cancelled()` turned true while a
 * request was out (the caller no longer owns the batch).
 */
export async function bulkRoundTrip<T extends BulkDocument>(
  client: Client,
  batch: readonly T[],
  options: RoundTripOptions,
): Promise<BulkVerdicts<T> | undefined> {
  const verdicts = emptyVerdicts<T>();
  let unsent: readonly T[] = batch;
  if (batch.some((item) => item.resend)) {
    // Re-sends only (retries after an ambiguous failure, spool replays): first attempts never pay
    // for this round trip.
    let found: Set<string>;
    try {
      found = await alreadyStored(
        client,
        batch.filter((item) => item.resend),
        { requestTimeoutMs: options.requestTimeoutMs, signal: options.signal },
      );
    } catch (error) {
      if (options.cancelled?.()) return undefined;
      const status = statusOf(error);
      if (status !== 401 && status !== 403) {
        verdicts.failed = { items: [...batch], error };
        return verdicts;
      }
      // Credentials that may only write (create_doc) cannot look: send anyway rather than retry
      // forever. Duplicates stay impossible within one backing index, as before.
      verdicts.lookupRefused = status;
      found = new Set();
    }
    if (options.cancelled?.()) return undefined;
    if (found.size > 0) {
      const rest: T[] = [];
      for (const item of batch)
        if (item.resend && found.has(storedKey(item.index, item.id))) verdicts.conflicts.push(item);
        else rest.push(item);
      unsent = rest;
      if (unsent.length === 0) return verdicts;
    }
  }
  let text = '';
  const ingested = new Date().toISOString();
  for (const item of unsent)
    text += `${ACTION_HEAD}${item.index}","_id":${JSON.stringify(item.id)}}}\n${stampIngested(item.doc, ingested)}\n`;
  // The body stays a string. A Buffer (one UTF-8 conversion instead of the transport's
  // Buffer.byteLength plus undici's own) saved a little CPU, but during an outage the process
  // then held every failed request's text: RSS grew by 724 MiB over bench/logger.bench.ts (c)'s
  // 60 s outage against 23 MiB with a string body (2026-12-02).
  let response: { items?: BulkResponseItem[] };
  try {
    // filter_path: only what we read. A full item answer is ~250 bytes (index, version, shards,
    // seq_no…) that Elasticsearch renders and we parse for every document; ~25 bytes remain.
    // require_data_stream: the logger never creates anything but a data stream. Without a
    // template (or with a plain index in the stream's place) the item is refused and held. The
    // flag is per request, and `mlmon collect` also writes KServe / Seldon halves through the
    // logger core into its regular index mlmon-pairs-{ns} (created from mlmon's template by
    // `mlmon setup`): a batch holding such a half goes without the flag.
    const params = {
      body: text,
      filter_path: BULK_FILTER,
      require_data_stream: unsent.every((item) => item.destination === 'data-stream'),
    };
    response = (await client.bulk(params as unknown as Parameters<Client['bulk']>[0], {
      maxRetries: 0,
      requestTimeout: options.requestTimeoutMs,
      signal: options.signal,
    })) as unknown as { items?: BulkResponseItem[] };
  } catch (error) {
    if (options.cancelled?.()) return undefined;
    verdicts.failed = { items: [...unsent], error };
    return verdicts;
  }
  if (options.cancelled?.()) return undefined;
  const answers = response.items ?? [];
  for (let i = 0; i < unsent.length; i++) {
    const item = unsent[i] as T;
    const outcome = classifyBulkItem(answers[i]);
    if (outcome.kind === 'stored') verdicts.stored.push(item);
    else if (outcome.kind === 'conflict') verdicts.conflicts.push(item);
    else if (outcome.kind === 'retry') verdicts.retry.push({ item, status: outcome.status });
    else if (outcome.kind === 'hold') verdicts.held.push({ item, why: outcome.why, detail: outcome.detail });
    else verdicts.deadLetter.push({ item, reason: outcome.reason });
  }
  return verdicts;
}
