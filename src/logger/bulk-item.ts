/**
 * What became of one document of a bulk request, from Elasticsearch's answer for it: a pure
 * function of the item (status and error), so every rule is testable against real answers
 * (test/logger/bulk-item.test.ts replays items captured from a real cluster).
 *
 * - 2xx: stored.
 * - 409 on `create`: a document with this `_id` is already in the backing index: stored by an
 *   earlier attempt (exactly once).
 * - 408, 429, 5xx, no answer for the item, and a 403 write block (flood stage, read-only): retried
 *   with backoff, because they pass — a bounded number of times (the shipper's MAX_ITEM_ATTEMPTS),
 *   then held.
 * - Held (`hold`): a 403 for the item that is not a write block (the credentials lack a
 *   privilege on the stream), or no data stream to write to (`require_data_stream`: no mlmon
 *   template yet, or a plain index in the stream's place). The operator fixes these (a new key,
 *   `mlmon setup`); the document is fine, so it is kept (spooled), never dead-lettered or dropped.
 * - Any other 4xx (a mapping conflict, an invalid index name…): the document itself is the
 *   problem; it goes to the dead-letter stream with Elasticsearch's reason.
 */
import { reasonFromBulkError, type DeadLetterReason } from '../schema/deadletter.js';

/** The parts of an item the shipper asks for (`filter_path=items.*.status,items.*.error`). */
export interface BulkItemResult {
  status?: number;
  error?: unknown;
}

/** One entry of a bulk answer's `items`: `{ create: { status, error } }`. */
export type BulkResponseItem = Record<string, BulkItemResult>;

export type BulkItemOutcome =
  | { kind: 'stored' }
  | { kind: 'conflict' }
  | { kind: 'retry'; status: number | undefined }
  | { kind: 'hold'; why: HoldReason; detail: string }
  | { kind: 'dead-letter'; reason: DeadLetterReason };

/** The HTTP status of a failed client request, when the server answered. */
export function statusOf(error: unknown): number | undefined {
  const meta = (error as { meta?: { statusCode?: unknown } } | undefined)?.meta;
  return typeof meta?.statusCode === 'number' ? meta.statusCode : undefined;
}

/** No answer, a timeout, too many requests, or a server error: worth trying again. */
export function retryable(status: number | undefined): boolean {
  return status === undefined || status === 0 || status === 408 || status === 429 || status >= 500;
}

/** A write block on the index (read-only, flood stage): temporary by nature, so retried. */
export function blocked(status: number | undefined, error: unknown): boolean {
  return status === 403 && (error as { type?: unknown } | undefined)?.type === 'cluster_block_exception';
}

/**
 * Why a document waits for the operator: `forbidden`, the credentials may not write to the stream;
 * `no-stream`, there is no data stream to write to and none may be created (no mlmon template, or
 * a plain index where the stream should be).
 */
export type HoldReason = 'forbidden' | 'no-stream';

/** Elasticsearch's one-line reason (`type: reason`) of an item error, cut to `max` characters. */
function errorLine(error: unknown, max = 400): string {
  const e = error as { type?: unknown; reason?: unknown } | undefined;
  const text = `${typeof e?.type === 'string' ? e.type : 'error'}: ${typeof e?.reason === 'string' ? e.reason : ''}`;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `require_data_stream` refused: no template makes a data stream, or the name is a plain index. */
function noDataStream(status: number | undefined, error: unknown): boolean {
  const reason = (error as { reason?: unknown } | undefined)?.reason;
  return (
    status === 404 &&
    typeof reason === 'string' &&
    (reason.includes('requires a data stream') || reason.includes('is not a data stream'))
  );
}

/** Classifies the answer for one document; `undefined` when the answer had no item for it. */
export function classifyBulkItem(item: BulkResponseItem | undefined): BulkItemOutcome {
  const op = item ? (item.create ?? Object.values(item)[0]) : undefined;
  const status = op?.status;
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'stored' };
  if (status === 409) return { kind: 'conflict' };
  if (retryable(status) || blocked(status, op?.error)) return { kind: 'retry', status };
  if (status === 401 || status === 403)
    return { kind: 'hold', why: 'forbidden', detail: `${status} ${errorLine(op?.error)}` };
  if (noDataStream(status, op?.error))
    return { kind: 'hold', why: 'no-stream', detail: `${status} ${errorLine(op?.error)}` };
  return { kind: 'dead-letter', reason: reasonFromBulkError(op?.error, status) };
}

/**
 * What to do when a whole bulk request failed. `outage`: the cluster did not answer, or answered
 * with a status that says "not now" (429, 5xx) or "not with these credentials" (401, 403 — an
 * expired key is fixed without losing documents); `warn` for the kinds worth telling the operator
 * at once. `rejected`: 413, the request is too large (for Elasticsearch's http.max_content_length
 * or a proxy's body limit), which the shipper narrows down by halving the batch. Any other 4xx for
 * the request as a whole (400, 404, 405...) says the path or a proxy in front of the cluster is
 * wrong for every request, not that these documents are: halving would dead-letter every document
 * (and drop the dead letters, refused the same way), so it is held like an outage, with a warning,
 * until fixed.
 */
export function classifyRequestFailure(
  error: unknown,
): { kind: 'outage'; status: number | undefined; warn: boolean } | { kind: 'rejected'; status: number } {
  const status = statusOf(error);
  if (status === 413) return { kind: 'rejected', status };
  return {
    kind: 'outage',
    status,
    warn: status === undefined || status === 0 || status >= 500 || !retryable(status),
  };
}
