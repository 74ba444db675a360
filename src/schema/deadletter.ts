/**
 * Dead-letter documents (`logs-mlmon.deadletter-{ns}`): an event that could not be indexed, the
 * reason, and the original event as JSON text. The stream is mapped `dynamic: false`, so nothing in
 * a dead letter can itself be rejected for its mapping.
 */
import { cut, keyword, read, safeJson, wellFormed } from './normalize.js';

export interface DeadLetterReason {
  /** Elasticsearch's error type (e.g. `document_parsing_exception`) or `mlmon_invalid_event`. */
  type: string;
  /** Human-readable reason, including Elasticsearch's `caused_by` chain when there is one. */
  message: string;
  /** The first reason in Elasticsearch's chain, short (`error.reason`). */
  reason?: string;
  /** HTTP status of the item, when Elasticsearch answered. */
  status?: number;
  /** Where it failed: `index` (Elasticsearch rejected it) or `normalize` (it never became a document). */
  stage?: 'index' | 'normalize';
}

/** Longest `event.original` we store, in UTF-16 code units (the full text stays in the spool line). */
export const MAX_ORIGINAL_LENGTH = 1_000_000;

/** Turns an Elasticsearch bulk item error into a reason. */
export function reasonFromBulkError(error: unknown, status: number | undefined): DeadLetterReason {
  if (typeof error !== 'object' || error === null)
    return { type: 'unknown', message: safeJson(error, 4096), status };
  const parts: string[] = [];
  let cursor: unknown = error;
  let type: string | undefined;
  let first: string | undefined;
  for (let depth = 0; cursor && typeof cursor === 'object' && depth < 5; depth++) {
    const t = keyword(read(cursor, 'type'), 256);
    const r = read(cursor, 'reason');
    type ??= t;
    if (first === undefined && typeof r === 'string') first = cut(r, 2048);
    parts.push(`${t ?? 'error'}: ${typeof r === 'string' ? r : ''}`);
    cursor = read(cursor, 'caused_by');
  }
  return {
    type: type ?? 'unknown',
    message: cut(parts.join(' / caused by '), 8192),
    reason: first,
    status,
    stage: 'index',
  };
}

/**
 * The dead-letter document for an event bound for `target`. `original` is the JSON text of the
 * document we tried to index, or of the caller's event when no document could be built.
 */
export function buildDeadLetterDocument(
  original: string,
  reason: DeadLetterReason,
  target: string,
  fallback: {
    model?: Record<string, unknown>;
    predictionId?: string;
    dataStream?: object;
    /** Longest `event.original` kept, below MAX_ORIGINAL_LENGTH (a document refused for its size). */
    originalMax?: number;
  } = {},
  now = Date.now(),
): Record<string, unknown> {
  let model = fallback.model;
  let predictionId = fallback.predictionId;
  if (!model || !predictionId) {
    try {
      const parsed = JSON.parse(original) as Record<string, unknown>;
      if (!model && typeof parsed.model === 'object' && parsed.model !== null)
        model = parsed.model as Record<string, unknown>;
      const p = parsed.prediction as Record<string, unknown> | undefined;
      if (!predictionId && typeof p?.id === 'string') predictionId = p.id;
    } catch {
      // The original is not a document of ours (a caller's event that could not be built).
    }
  }
  const maxOriginal = Math.min(MAX_ORIGINAL_LENGTH, fallback.originalMax ?? MAX_ORIGINAL_LENGTH);
  const error: Record<string, unknown> = { type: reason.type, message: wellFormed(reason.message) };
  if (reason.reason !== undefined) error.reason = wellFormed(reason.reason);
  if (reason.status !== undefined) error.status = reason.status;
  const doc: Record<string, unknown> = {
    '@timestamp': new Date(now).toISOString(),
    error,
    event: {
      kind: 'pipeline_error',
      original: original.length > maxOriginal ? cut(original, maxOriginal) : original,
    },
    deadletter: { target, stage: reason.stage ?? 'index' },
  };
  if (model) doc.model = model;
  if (predictionId) doc.prediction = { id: predictionId };
  if (fallback.dataStream) doc.data_stream = fallback.dataStream;
  return doc;
}
