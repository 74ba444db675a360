/**
 * Prediction and outcome events (what callers pass) and the documents the logger indexes
 * (DESIGN.md "Prediction document"). Builders never throw: a builder either returns a document or a
 * reason the event cannot be indexed, which the logger turns into a dead letter.
 *
 * Length: buildPredictionDocument is just over 100 lines: one document's fields in the order of the
 * mapping (docs/DESIGN.md's table).
 */
import { readTime } from './time.js';
import {
  DEFAULT_LIMITS,
  QualityNotes,
  finiteNumber,
  isUsableId,
  keyword,
  normalizeFeatures,
  normalizeLabels,
  normalizeNumberMap,
  normalizeScalar,
  normalizeString,
  read,
  type FieldValue,
  type NormalizeLimits,
} from './normalize.js';

export interface ModelRef {
  name: string;
  version?: string;
}

export interface ServiceRef {
  name?: string;
  environment?: string;
}

/** What a model predicted. */
export interface PredictionOutput {
  /** Predicted class (classification). */
  label?: string | number | boolean;
  /** Probability of the positive class (binary). */
  score?: number;
  /** Class probabilities (multi-class). */
  probabilities?: Record<string, number>;
  /** Predicted value (regression). */
  value?: number;
}

/** Ground truth. */
export interface ActualValue {
  label?: string | number | boolean;
  value?: number;
}

/** One prediction, as a caller logs it. Every field is optional; see docs/logger.md. */
export interface PredictionEvent {
  /**
   * Unique id; generated (UUIDv7) when absent or unusable. Becomes `_id` and `prediction.id`. The
   * logger takes a safe integer (a database key) as its decimal text.
   */
  id?: string | number;
  /** When the prediction was made: Date, epoch milliseconds or ISO string; default now. */
  timestamp?: Date | number | string;
  features?: Record<string, unknown>;
  prediction?: PredictionOutput;
  actual?: ActualValue;
  /** Inference latency in milliseconds; stored as `event.duration` in nanoseconds. */
  latencyMs?: number;
  labels?: Record<string, string | number | boolean>;
  /** Per-prediction attributions (e.g. SHAP values). */
  explanation?: Record<string, number>;
  /** Overrides the logger's model for this event. */
  model?: ModelRef;
  /** The prediction failed. */
  error?: unknown;
  /** A free-text message (ECS `message`). */
  message?: string;
}

/** Delayed ground truth for one prediction. */
export interface OutcomeEvent {
  /** The prediction's id (required); the logger takes a safe integer as its decimal text. */
  id: string | number;
  actual: ActualValue;
  timestamp?: Date | number | string;
  labels?: Record<string, string | number | boolean>;
  model?: ModelRef;
}

/**
 * What a winston log entry carries, for the transports that take entries from a service's winston
 * logger (`MlmonTransport`, the winston-elasticsearch bridge): an outcome when it has
 * `mlmon: 'outcome'`, a prediction when it has `features` or `prediction`, else nothing of ours
 * (the service's ordinary log lines).
 */
export function logEntryKind(info: Record<string | symbol, unknown>): 'prediction' | 'outcome' | undefined {
  if (info.mlmon === 'outcome') return 'outcome';
  if (info.features !== undefined || info.prediction !== undefined) return 'prediction';
  return undefined;
}

/** Declared feature schema; events are tagged with `mlmon.quality.*` against it. */
export interface FeatureSchema {
  features: Record<string, FeatureSpec>;
}

export type FeatureSpec =
  | { type: 'numeric'; min?: number; max?: number; required?: boolean }
  | { type: 'categorical'; values?: readonly string[]; required?: boolean }
  | { type: 'boolean'; required?: boolean };

/** Prepared form of a {@link FeatureSchema}, built once per logger. */
export interface CompiledSchema {
  specs: Map<string, FeatureSpec>;
  categories: Map<string, Set<string>>;
}

export function compileSchema(schema: FeatureSchema | undefined): CompiledSchema | undefined {
  if (!schema || typeof schema !== 'object' || !schema.features) return undefined;
  const specs = new Map<string, FeatureSpec>();
  const categories = new Map<string, Set<string>>();
  for (const [name, spec] of Object.entries(schema.features)) {
    if (!spec || typeof spec !== 'object') continue;
    specs.set(name, spec);
    if (spec.type === 'categorical' && Array.isArray(spec.values))
      categories.set(name, new Set(spec.values.map(String)));
  }
  return { specs, categories };
}

/** Everything a builder needs besides the event. */
export interface DocumentContext {
  model: ModelRef;
  service?: ServiceRef;
  schema?: CompiledSchema;
  limits: NormalizeLimits;
}

export function defaultContext(model: ModelRef): DocumentContext {
  return { model, limits: DEFAULT_LIMITS };
}

/** A built document, or the reason none could be built. */
export type BuildResult = { ok: true; doc: Record<string, unknown> } | { ok: false; reason: string };

function modelOf(override: unknown, context: DocumentContext, notes: QualityNotes): Record<string, string> {
  let name: string | undefined;
  let version: string | undefined;
  if (typeof override === 'object' && override !== null) {
    name = keyword(read(override, 'name'), 256);
    version = keyword(read(override, 'version'), 256);
  }
  name ??= context.model.name;
  version ??= context.model.version;
  if (!name) {
    notes.addMissing('model.name');
    name = 'unknown';
  }
  const out: Record<string, string> = { name };
  if (version) out.version = version;
  return out;
}

/** The minute whose ISO prefix (`2026-12-02T14:52:`) is cached, for {@link isoTime}. */
let minuteStart = Number.NaN;
let minutePrefix = '';

/**
 * `new Date(t).toISOString()`, cheaper: most events of a service fall in the current minute, whose
 * `YYYY-MM-DDTHH:mm:` prefix is cached, so only seconds and milliseconds are formatted (a Date and
 * its formatting were 2-3 % of the logger's CPU in bench/RESULTS.md's profile). Same output for
 * every time (years 0001-9999 are the only ones the builder passes; others take the Date path).
 */
export function isoTime(time: number): string {
  const t = Math.trunc(time); // as Date does (TimeClip)
  const offset = t - minuteStart;
  if (!(offset >= 0 && offset < 60_000)) {
    const iso = new Date(t).toISOString();
    if (iso.length !== 24) return iso; // years beyond 9999 (or before 0): ±YYYYYY form, not cached
    minuteStart = t - (((t % 60_000) + 60_000) % 60_000);
    minutePrefix = iso.slice(0, 17);
    return iso;
  }
  const ms = offset % 1000;
  const s = (offset - ms) / 1000;
  return `${minutePrefix}${s < 10 ? '0' : ''}${s}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

function timestampOf(v: unknown, fallback: number, notes: QualityNotes): string {
  if (v === undefined || v === null) return isoTime(fallback);
  const t = readTime(v);
  if (t === undefined) {
    notes.addInvalid('@timestamp');
    return isoTime(fallback);
  }
  if (t.seconds) notes.addEpochSeconds('@timestamp');
  return isoTime(t.ms);
}

function actualOf(
  v: unknown,
  limits: NormalizeLimits,
  notes: QualityNotes,
): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object') {
    notes.addInvalid('actual');
    return undefined;
  }
  let out: Record<string, unknown> | undefined;
  const label = read(v, 'label');
  if (label !== undefined && label !== null) {
    const k = keyword(label, limits.maxStringLength);
    if (k === undefined) notes.addInvalid('actual.label');
    else (out ??= {}).label = k;
  }
  const value = read(v, 'value');
  if (value !== undefined && value !== null) {
    const n = finiteNumber(value);
    if (n === undefined) notes.addInvalid('actual.value');
    else (out ??= {}).value = n;
  }
  return out;
}

function errorOf(v: unknown, limits: NormalizeLimits): Record<string, string> | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (v instanceof Error) {
    const out: Record<string, string> = {
      message: normalizeString(String(v.message), limits.maxStringLength, undefined, ''),
      type: keyword(v.name, 256) ?? 'Error',
    };
    if (typeof v.stack === 'string') out.stack_trace = normalizeString(v.stack, 8192, undefined, '');
    return out;
  }
  const s = normalizeScalar(v, 'error', limits, undefined);
  return { message: typeof s === 'string' ? s : String(s) };
}

function checkSchema(features: Record<string, FieldValue>, schema: CompiledSchema, notes: QualityNotes) {
  for (const [name, spec] of schema.specs) {
    const v = features[name];
    if (v === undefined || v === null) {
      // NaN/null were already listed as missing by normalisation; do not list twice.
      if (v === undefined) notes.addMissing(name);
      continue;
    }
    const value = Array.isArray(v) ? v[0] : v;
    switch (spec.type) {
      case 'numeric':
        if (typeof value !== 'number') notes.addTypeMismatch(name);
        else if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))
          notes.addOutOfRange(name);
        break;
      case 'categorical': {
        if (typeof value !== 'string' && typeof value !== 'boolean' && typeof value !== 'number') {
          notes.addTypeMismatch(name);
          break;
        }
        const allowed = schema.categories.get(name);
        if (allowed && !allowed.has(String(value))) notes.addOutOfRange(name);
        break;
      }
      case 'boolean':
        if (typeof value !== 'boolean') notes.addTypeMismatch(name);
        break;
    }
  }
  for (const name in features) if (!schema.specs.has(name)) notes.addUnexpected(name);
}

/**
 * The prediction document for `event`. `id` and `now` come from the caller's path (the id is returned
 * to the caller; `now` is the call time, used when the event has no usable timestamp).
 */
export function buildPredictionDocument(
  event: unknown,
  id: string,
  now: number,
  context: DocumentContext,
): BuildResult {
  if (typeof event !== 'object' || event === null)
    return {
      ok: false,
      reason: `a prediction event must be an object, got ${event === null ? 'null' : typeof event}`,
    };
  const limits = context.limits;
  const notes = new QualityNotes(limits.maxQualityNames);
  const doc: Record<string, unknown> = {};
  doc['@timestamp'] = timestampOf(read(event, 'timestamp'), now, notes);

  const prediction: Record<string, unknown> = { id };
  const rawId = read(event, 'id');
  if (rawId !== undefined && rawId !== null && rawId !== id) notes.addInvalid('prediction.id');
  const output = read(event, 'prediction');
  if (typeof output === 'object' && output !== null) {
    const label = read(output, 'label');
    if (label !== undefined && label !== null) {
      const k = keyword(label, limits.maxStringLength);
      if (k === undefined) notes.addInvalid('prediction.label');
      else prediction.label = k;
    }
    const score = read(output, 'score');
    if (score !== undefined && score !== null) {
      const n = finiteNumber(score);
      if (n === undefined) notes.addInvalid('prediction.score');
      else prediction.score = n;
    }
    const value = read(output, 'value');
    if (value !== undefined && value !== null) {
      const n = finiteNumber(value);
      if (n === undefined) notes.addInvalid('prediction.value');
      else prediction.value = n;
    }
    const probabilities = read(output, 'probabilities');
    if (probabilities !== undefined && probabilities !== null) {
      const p = normalizeNumberMap(probabilities, 'prediction.probabilities', limits, notes);
      if (p) prediction.probabilities = p;
    }
  } else if (output !== undefined && output !== null) {
    // A bare number or string is taken as a value or a label.
    const n = finiteNumber(output);
    if (n !== undefined) prediction.value = n;
    else {
      const k = keyword(output, limits.maxStringLength);
      if (k !== undefined) prediction.label = k;
      else notes.addInvalid('prediction');
    }
  }
  doc.prediction = prediction;
  doc.model = modelOf(read(event, 'model'), context, notes);
  const service = context.service;
  if (service && (service.name || service.environment)) doc.service = service;

  const features = Object.create(null) as Record<string, FieldValue>;
  const rawFeatures = read(event, 'features');
  if (rawFeatures !== undefined && rawFeatures !== null) {
    if (!normalizeFeatures(rawFeatures, features, limits, notes)) notes.addInvalid('features');
  }
  if (context.schema) checkSchema(features, context.schema, notes);
  doc.features = features;

  const actual = actualOf(read(event, 'actual'), limits, notes);
  if (actual) doc.actual = actual;

  const latency = read(event, 'latencyMs');
  const eventField: Record<string, unknown> = { kind: 'event' };
  if (latency !== undefined && latency !== null) {
    const ms = finiteNumber(latency);
    if (ms === undefined || ms < 0) notes.addInvalid('latencyMs');
    else eventField.duration = Math.round(ms * 1e6);
  }
  const error = errorOf(read(event, 'error'), limits);
  if (error) {
    doc.error = error;
    eventField.outcome = 'failure';
  }
  doc.event = eventField;

  const labels = read(event, 'labels');
  if (labels !== undefined && labels !== null) {
    const l = normalizeLabels(labels, limits, notes);
    if (l) doc.labels = l;
  }
  const explanation = read(event, 'explanation');
  if (explanation !== undefined && explanation !== null) {
    const e = normalizeNumberMap(explanation, 'explanation', limits, notes);
    if (e) doc.explanation = e;
  }
  const message = read(event, 'message');
  if (typeof message === 'string')
    doc.message = normalizeString(message, limits.maxStringLength, notes, 'message');

  const quality = notes.toDocument();
  if (quality) doc.mlmon = { quality };
  return { ok: true, doc };
}

/** The outcome document for `event`; its own `_id` is a fresh id, `prediction.id` links it. */
export function buildOutcomeDocument(event: unknown, now: number, context: DocumentContext): BuildResult {
  if (typeof event !== 'object' || event === null)
    return {
      ok: false,
      reason: `an outcome event must be an object, got ${event === null ? 'null' : typeof event}`,
    };
  const limits = context.limits;
  const notes = new QualityNotes(limits.maxQualityNames);
  const predictionId = read(event, 'id');
  if (!isUsableId(predictionId))
    return { ok: false, reason: 'an outcome needs the id of its prediction (a string of 1-256 characters)' };
  const actual = actualOf(read(event, 'actual'), limits, notes);
  if (!actual) return { ok: false, reason: 'an outcome needs actual.label or a finite actual.value' };
  const doc: Record<string, unknown> = {
    '@timestamp': timestampOf(read(event, 'timestamp'), now, notes),
    prediction: { id: predictionId },
    model: modelOf(read(event, 'model'), context, notes),
    actual,
    event: { kind: 'event' },
  };
  const service = context.service;
  if (service && (service.name || service.environment)) doc.service = service;
  const labels = read(event, 'labels');
  if (labels !== undefined && labels !== null) {
    const l = normalizeLabels(labels, limits, notes);
    if (l) doc.labels = l;
  }
  const quality = notes.toDocument();
  if (quality) doc.mlmon = { quality };
  return { ok: true, doc };
}
