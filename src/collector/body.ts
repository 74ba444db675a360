/**
 * Request bodies of `POST /v1/predictions` and `/v1/outcomes`: a JSON object, a JSON array of
 * them, or NDJSON (one object a line), in mlmon's own event shape (what `logPrediction` and
 * `logOutcome` take, docs/logger.md). Each event is checked on its own: a bad line or array item is
 * rejected with its position and a one-line reason, and the others go on.
 */

/** A refusal of the whole body: `status` and a one-line `reason`, `code` for the metrics. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export interface Rejection {
  /** NDJSON: the line number (1-based); JSON array: the item index (0-based); object: 0. */
  at: number;
  reason: string;
  code: string;
}

export interface ParsedEvents {
  events: Record<string, unknown>[];
  /** Where each event of `events` was in the body (same numbering as {@link Rejection.at}). */
  positions: number[];
  rejected: Rejection[];
  /** `line` for NDJSON, `item` for a JSON array, `body` for one object. */
  unit: 'line' | 'item' | 'body';
}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/json-lines',
]);

export function isNdjson(contentType: string | undefined): boolean {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return NDJSON_TYPES.has(base);
}

/** Deepest nesting of arrays and objects taken in a body (mlmon's and model servers' payloads). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests deeper than `max` (strings skipped). Checked before parsing: a body
 * nested 10,000 levels parses, but every later recursive step (document building, serialising,
 * Elasticsearch's own parser) would overflow or refuse it after the event was accepted.
 * Hand-written because it is one pass over the characters; no parser library offers a depth cap.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/** `JSON.parse` with a one-line reason that says how to fix the usual Python mistake (NaN). */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH))
    return { ok: false, reason: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = (error as Error).message.replace(/\s+/g, ' ').slice(0, 200);
    const hint = /(^|[^"\w])(-?Infinity|NaN)([^"\w]|$)/.test(text)
      ? ' (NaN and Infinity are not JSON: send null, e.g. Python json.dumps(..., allow_nan=False) after replacing them)'
      : '';
    return { ok: false, reason: `not valid JSON: ${message}${hint}` };
  }
}

export type EventKind = 'prediction' | 'outcome';

export interface EventRules {
  /** When set, events whose model name is not in it are refused. */
  models?: ReadonlySet<string>;
  /** The model name an event without one gets (to check against `models`). */
  defaultModel?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why an event cannot be taken (a one-line reason), or undefined when it can. */
export function checkEvent(
  kind: EventKind,
  event: unknown,
  rules: EventRules,
): { reason: string; code: string } | undefined {
  if (!isObject(event))
    return {
      reason: `an event must be a JSON object, got ${Array.isArray(event) ? 'an array' : event === null ? 'null' : typeof event}`,
      code: 'invalid_event',
    };
  if (kind === 'prediction') {
    if (event.features !== undefined && !isObject(event.features))
      return { reason: '"features" must be an object of name → value', code: 'invalid_event' };
    if (event.prediction !== undefined && !isObject(event.prediction))
      return {
        reason: '"prediction" must be an object (label, score, probabilities, value)',
        code: 'invalid_event',
      };
    if (event.features === undefined && event.prediction === undefined)
      return { reason: 'a prediction needs "features" or "prediction"', code: 'invalid_event' };
  } else {
    if (typeof event.id !== 'string' || event.id === '')
      return { reason: 'an outcome needs "id", the id of its prediction', code: 'invalid_event' };
    if (!isObject(event.actual))
      return { reason: 'an outcome needs "actual" ({ label } or { value })', code: 'invalid_event' };
  }
  if (rules.models) {
    const model =
      isObject(event.model) && typeof event.model.name === 'string' ? event.model.name : rules.defaultModel;
    if (model === undefined || !rules.models.has(model))
      return {
        reason: `unknown model ${JSON.stringify(model ?? null)} (collector.models lists the accepted ones)`,
        code: 'unknown_model',
      };
  }
  return undefined;
}

/** Parses and checks a body; throws {@link BodyError} only when nothing in it can be read. */
export function parseEvents(text: string, ndjson: boolean, kind: EventKind, rules: EventRules): ParsedEvents {
  const out: ParsedEvents = { events: [], positions: [], rejected: [], unit: 'body' };
  const take = (value: unknown, at: number) => {
    const problem = checkEvent(kind, value, rules);
    if (problem) out.rejected.push({ at, ...problem });
    else {
      out.events.push(value as Record<string, unknown>);
      out.positions.push(at);
    }
  };
  if (ndjson) {
    out.unit = 'line';
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      const parsed = parseJson(line);
      if (parsed.ok) take(parsed.value, i + 1);
      else out.rejected.push({ at: i + 1, reason: parsed.reason, code: 'invalid_json' });
    }
    if (out.events.length === 0 && out.rejected.length === 0)
      throw new BodyError(400, 'empty', 'the body holds no events');
    return out;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw new BodyError(400, 'invalid_json', parsed.reason);
  if (Array.isArray(parsed.value)) {
    out.unit = 'item';
    if (parsed.value.length === 0)
      throw new BodyError(400, 'empty', 'the body holds no events (an empty array)');
    parsed.value.forEach((value, i) => take(value, i));
  } else {
    take(parsed.value, 0);
    if (out.rejected.length > 0) {
      const first = out.rejected[0] as Rejection;
      throw new BodyError(400, first.code, first.reason);
    }
  }
  return out;
}
