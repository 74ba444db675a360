/**
 * Normalisation of caller input into values Elasticsearch always accepts.
 *
 * The rules are documented, with examples, in docs/logger.md ("Normalisation rules"); keep the two
 * in step. Nothing here throws for any input value: property reads go through `read()`, which turns
 * a throwing getter or proxy trap into an "invalid" value.
 *
 * Length: Over 450 lines on purpose: one rule set, kept in step with docs/logger.md section by
 * section; every function is small.
 */
import { readTime } from './time.js';

export interface NormalizeLimits {
  /** Features kept per event after flattening; the rest are dropped and counted. */
  maxFeatures: number;
  /** Labels (and explanation entries, and class probabilities) kept per event. */
  maxLabels: number;
  /** Longest field name, in UTF-16 code units; longer names are cut and suffixed with a hash. */
  maxNameLength: number;
  /** Longest string value, in UTF-16 code units; longer strings are cut. */
  maxStringLength: number;
  /** Nesting depth flattened into dotted feature names; deeper values become JSON strings. */
  maxDepth: number;
  /** Longest array kept as an array value; longer arrays are cut. */
  maxArrayLength: number;
  /** Names listed per `mlmon.quality.*` array. */
  maxQualityNames: number;
}

export const DEFAULT_LIMITS: NormalizeLimits = {
  maxFeatures: 1000,
  maxLabels: 100,
  maxNameLength: 256,
  maxStringLength: 1024,
  maxDepth: 5,
  maxArrayLength: 100,
  maxQualityNames: 100,
};

export type Scalar = string | number | boolean | null;
export type FieldValue = Scalar | Scalar[];

/** What normalisation noticed about one event; becomes `mlmon.quality.*`. */
export class QualityNotes {
  missing: string[] | undefined;
  invalid: string[] | undefined;
  truncated: string[] | undefined;
  unexpected: string[] | undefined;
  typeMismatch: string[] | undefined;
  outOfRange: string[] | undefined;
  /** Numeric times read as epoch seconds (schema/time.ts `readTime`). */
  epochSeconds: string[] | undefined;
  featuresDropped = 0;

  constructor(private readonly max: number) {}

  private push(list: string[] | undefined, name: string): string[] {
    const out = list ?? [];
    if (out.length < this.max) out.push(name);
    return out;
  }
  addMissing(name: string): void {
    this.missing = this.push(this.missing, name);
  }
  addInvalid(name: string): void {
    this.invalid = this.push(this.invalid, name);
  }
  addTruncated(name: string): void {
    this.truncated = this.push(this.truncated, name);
  }
  addUnexpected(name: string): void {
    this.unexpected = this.push(this.unexpected, name);
  }
  addTypeMismatch(name: string): void {
    this.typeMismatch = this.push(this.typeMismatch, name);
  }
  addOutOfRange(name: string): void {
    this.outOfRange = this.push(this.outOfRange, name);
  }
  addEpochSeconds(name: string): void {
    this.epochSeconds = this.push(this.epochSeconds, name);
  }

  /** The `mlmon.quality` object, or undefined when there is nothing to say. */
  toDocument(): Record<string, string[] | number> | undefined {
    // The common case (a clean event) allocates nothing.
    if (
      this.featuresDropped === 0 &&
      !this.missing &&
      !this.invalid &&
      !this.truncated &&
      !this.unexpected &&
      !this.typeMismatch &&
      !this.outOfRange &&
      !this.epochSeconds
    )
      return undefined;
    let out: Record<string, string[] | number> | undefined;
    const set = (key: string, value: string[] | number | undefined) => {
      if (value === undefined || value === 0) return;
      (out ??= {})[key] = value;
    };
    set('missing', this.missing);
    set('unexpected', this.unexpected);
    set('type_mismatch', this.typeMismatch);
    set('out_of_range', this.outOfRange);
    set('invalid', this.invalid);
    set('truncated', this.truncated);
    set('epoch_seconds', this.epochSeconds);
    set('features_dropped', this.featuresDropped);
    return out;
  }
}

/** Marker returned by {@link read} when a property read threw. */
export const UNREADABLE: unique symbol = Symbol('unreadable');

/** Reads `object[key]`, turning a throwing getter or proxy trap into {@link UNREADABLE}. */
export function read(object: unknown, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** Own enumerable string keys, or undefined when even that throws (a hostile proxy). */
export function keysOf(object: object): string[] | undefined {
  try {
    return Object.keys(object);
  } catch {
    return undefined;
  }
}

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** Replaces lone surrogates (which are not valid UTF-8) with U+FFFD. */
export function wellFormed(s: string): string {
  return (s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed();
}

/** Cuts a string to at most `max` code units without splitting a surrogate pair. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return s.slice(0, end);
}

/** 32-bit FNV-1a of a string, as 8 hex digits: a short, stable suffix for cut names. */
export function fnv1a(s: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    hash ^= s.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/**
 * A field name Elasticsearch accepts. With `dots` (features, whose object has `subobjects: false`)
 * dots are kept as path separators, but empty and blank segments are removed; without `dots`
 * (labels, explanation, probabilities) every dot becomes `_`, so `a` and `a.b` never collide.
 */
export function normalizeName(raw: string, dots: boolean, maxLength: number): string {
  const n = raw.length;
  if (n > 0 && n <= maxLength) {
    // Fast path: printable, no surrogates, no dot problems, not blank at either end.
    let ok = raw.charCodeAt(0) !== 0x20 && raw.charCodeAt(n - 1) !== 0x20;
    let prevDot = true; // a leading dot is a problem
    for (let i = 0; ok && i < n; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x2e) {
        if (!dots || prevDot) ok = false;
        prevDot = true;
      } else {
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff)) ok = false;
        // A space right after a dot starts a segment with blank space: take the slow path.
        if (c === 0x20 && prevDot) ok = false;
        prevDot = false;
      }
    }
    if (ok && !prevDot) return raw;
  }
  return slowName(raw, dots, maxLength);
}

function slowName(raw: string, dots: boolean, maxLength: number): string {
  let s = wellFormed(raw);
  let cleaned = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    cleaned += isControl(c) ? '_' : !dots && c === 0x2e ? '_' : s[i];
  }
  if (dots) {
    const parts: string[] = [];
    for (const part of cleaned.split('.')) {
      const trimmed = part.trim();
      if (trimmed.length > 0) parts.push(trimmed);
    }
    s = parts.join('.');
  } else {
    s = cleaned.trim();
  }
  if (s.length === 0) return '_empty';
  if (s.length > maxLength) {
    s = cut(s, maxLength - 9) + '~' + fnv1a(raw);
    // A cut may leave a trailing dot or blank: drop them so the name stays valid.
    while (s.length > 0 && (s.endsWith('.') || s.endsWith(' '))) s = s.slice(0, -1);
  }
  return s;
}

/** A string value: well-formed and at most `max` code units. */
export function normalizeString(
  s: string,
  max: number,
  notes: QualityNotes | undefined,
  name: string,
): string {
  if (s.length > max) {
    notes?.addTruncated(name);
    s = cut(s, max);
  }
  return wellFormed(s);
}

/**
 * A bounded, cycle-safe JSON text for any value, for dead letters and for values that cannot be
 * indexed as fields. Never throws.
 */
export function safeJson(value: unknown, maxLength = 65_536): string {
  try {
    const seen = new Set<object>();
    let budget = 100_000; // nodes visited, so a 10,000 x 10,000 structure cannot stall us
    const walk = (v: unknown, depth: number): unknown => {
      if (--budget < 0) return '[…]';
      switch (typeof v) {
        case 'string':
          return v.length > maxLength ? cut(v, maxLength) : v;
        case 'number':
          return Number.isFinite(v) ? v : String(v);
        case 'bigint':
          return `${v.toString()}n`;
        case 'symbol':
          return v.toString();
        case 'function':
          return `[function ${v.name || 'anonymous'}]`;
        case 'undefined':
          return null;
        case 'boolean':
          return v;
        case 'object': {
          if (v === null) return null;
          if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
          if (seen.has(v)) return '[circular]';
          if (depth > 20) return '[…]';
          seen.add(v);
          try {
            if (Array.isArray(v)) {
              const out: unknown[] = [];
              for (let i = 0; i < v.length && i < 1000; i++) out.push(walk(read(v, String(i)), depth + 1));
              return out;
            }
            const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
            const keys = keysOf(v) ?? [];
            for (let i = 0; i < keys.length && i < 10_000; i++) {
              const key = keys[i] as string;
              const item = read(v, key);
              out[key] = item === UNREADABLE ? '[unreadable]' : walk(item, depth + 1);
            }
            return out;
          } finally {
            seen.delete(v);
          }
        }
        default:
          return null;
      }
    };
    const text = JSON.stringify(walk(value, 0)) ?? 'null';
    return text.length > maxLength ? cut(text, maxLength) : text;
  } catch {
    return '"[unserialisable]"';
  }
}

/** Unboxes `new Number(1)`, `new String('a')`, `new Boolean(true)`. */
function unbox(v: object): unknown {
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return v.valueOf();
  return v;
}

/**
 * A scalar field value, or undefined when there is nothing to index. Records missing, invalid and
 * truncated values in `notes` under `name`.
 */
export function normalizeScalar(
  v: unknown,
  name: string,
  limits: NormalizeLimits,
  notes: QualityNotes | undefined,
): Scalar | undefined {
  switch (typeof v) {
    case 'number':
      if (v === v && v !== Infinity && v !== -Infinity) return v === 0 ? 0 : v; // -0 -> 0
      if (v !== v) notes?.addMissing(name);
      else notes?.addInvalid(name);
      return null;
    case 'string':
      return normalizeString(v, limits.maxStringLength, notes, name);
    case 'boolean':
      return v;
    case 'bigint': {
      const n = Number(v);
      if (Number.isFinite(n)) return n;
      notes?.addInvalid(name);
      return null;
    }
    case 'undefined':
      notes?.addMissing(name);
      return null;
    case 'object':
      if (v === null) {
        notes?.addMissing(name);
        return null;
      }
      if (v instanceof Date) {
        const t = v.getTime();
        if (Number.isNaN(t)) {
          notes?.addInvalid(name);
          return null;
        }
        return v.toISOString();
      }
      return normalizeString(safeJson(v, limits.maxStringLength), limits.maxStringLength, notes, name);
    default:
      // symbol, function, and UNREADABLE
      notes?.addInvalid(name);
      return null;
  }
}

/**
 * Normalises an array value: scalars only, at most `maxArrayLength`, one type (numbers become strings
 * when strings are present too, so the field's mapping never sees two types in one document).
 */
function normalizeArray(
  arr: readonly unknown[],
  name: string,
  limits: NormalizeLimits,
  notes: QualityNotes,
): FieldValue {
  let length = 0;
  try {
    length = arr.length;
  } catch {
    notes.addInvalid(name);
    return null;
  }
  if (length > limits.maxArrayLength) notes.addTruncated(name);
  const out: Scalar[] = [];
  let strings = false;
  let others = false;
  for (let i = 0; i < length && i < limits.maxArrayLength; i++) {
    const item = read(arr, String(i));
    if (item === null || item === undefined) continue;
    const scalar = normalizeScalar(item, name, limits, undefined);
    if (scalar === null || scalar === undefined) continue;
    if (typeof scalar === 'string') strings = true;
    else others = true;
    out.push(scalar);
  }
  if (out.length === 0) {
    notes.addMissing(name);
    return null;
  }
  if (strings && others) return out.map((x) => String(x));
  return out;
}

/**
 * Flattens `input` (the caller's `features`) into `out` with dotted names. Returns false when the
 * input is not an object at all.
 */
export function normalizeFeatures(
  input: unknown,
  out: Record<string, FieldValue>,
  limits: NormalizeLimits,
  notes: QualityNotes,
): boolean {
  if (typeof input !== 'object' || input === null) return false;
  const state = { count: 0 };
  const seen = new Set<object>();
  flatten(input, '', 0, out, limits, notes, state, seen);
  return true;
}

function flatten(
  object: object,
  prefix: string,
  depth: number,
  out: Record<string, FieldValue>,
  limits: NormalizeLimits,
  notes: QualityNotes,
  state: { count: number },
  seen: Set<object>,
): void {
  seen.add(object);
  let entries: Array<[string, unknown]>;
  if (object instanceof Map) {
    entries = [];
    for (const [k, v] of object) entries.push([String(k), v]);
  } else {
    const keys = keysOf(object);
    if (keys === undefined) {
      notes.addInvalid(prefix || 'features');
      return;
    }
    entries = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      entries.push([key, read(object, key)]);
    }
  }
  for (let i = 0; i < entries.length; i++) {
    const [rawKey, rawValue] = entries[i] as [string, unknown];
    const key = normalizeName(rawKey, true, limits.maxNameLength);
    const name = prefix ? normalizeName(`${prefix}.${key}`, true, limits.maxNameLength) : key;
    let v = rawValue;
    if (typeof v === 'object' && v !== null) v = unbox(v);
    if (typeof v === 'object' && v !== null && !(v instanceof Date)) {
      if (seen.has(v)) {
        notes.addInvalid(name);
        continue;
      }
      if (Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof Set) {
        if (state.count >= limits.maxFeatures) {
          notes.featuresDropped++;
          continue;
        }
        const arr = Array.isArray(v)
          ? v
          : v instanceof Set
            ? [...v]
            : ArrayBuffer.isView(v) && !(v instanceof DataView)
              ? Array.from(v as unknown as ArrayLike<number>)
              : [];
        state.count++;
        out[name] = normalizeArray(arr, name, limits, notes);
        continue;
      }
      if (depth + 1 < limits.maxDepth) {
        flatten(v, name, depth + 1, out, limits, notes, state, seen);
        continue;
      }
    }
    if (state.count >= limits.maxFeatures) {
      notes.featuresDropped++;
      continue;
    }
    state.count++;
    const scalar = normalizeScalar(v, name, limits, notes);
    out[name] = scalar === undefined ? null : scalar;
  }
  seen.delete(object);
}

/**
 * A flat map of names (dots replaced) to strings: `labels`. Values are strings (numbers and booleans
 * are converted); null, undefined and non-scalars are dropped and listed as invalid.
 */
export function normalizeLabels(
  input: unknown,
  limits: NormalizeLimits,
  notes: QualityNotes,
): Record<string, string> | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const keys = keysOf(input);
  if (!keys) return undefined;
  let out: Record<string, string> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const rawKey = keys[i] as string;
    const name = normalizeName(rawKey, false, limits.maxNameLength);
    if (i >= limits.maxLabels) {
      notes.addTruncated('labels');
      break;
    }
    const v = read(input, rawKey);
    let s: string | undefined;
    if (typeof v === 'string') s = normalizeString(v, limits.maxStringLength, notes, `labels.${name}`);
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
    if (s === undefined) {
      notes.addInvalid(`labels.${name}`);
      continue;
    }
    (out ??= Object.create(null) as Record<string, string>)[name] = s;
  }
  return out;
}

/** A finite number (BigInt converted, -0 as 0), or undefined. */
export function finiteNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v === v && v !== Infinity && v !== -Infinity ? v + 0 : undefined;
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * A flat map of names (dots replaced) to finite numbers: `explanation`, `prediction.probabilities`.
 * Anything else is dropped and listed as invalid under `<field>.<name>`.
 */
export function normalizeNumberMap(
  input: unknown,
  field: string,
  limits: NormalizeLimits,
  notes: QualityNotes,
): Record<string, number> | undefined {
  if (typeof input !== 'object' || input === null) {
    if (input !== undefined && input !== null) notes.addInvalid(field);
    return undefined;
  }
  const keys = keysOf(input);
  if (!keys) {
    notes.addInvalid(field);
    return undefined;
  }
  let out: Record<string, number> | undefined;
  for (let i = 0; i < keys.length; i++) {
    if (i >= limits.maxLabels) {
      notes.addTruncated(field);
      break;
    }
    const rawKey = keys[i] as string;
    const name = normalizeName(rawKey, false, limits.maxNameLength);
    const n = finiteNumber(read(input, rawKey));
    if (n === undefined) {
      notes.addInvalid(`${field}.${name}`);
      continue;
    }
    (out ??= Object.create(null) as Record<string, number>)[name] = n;
  }
  return out;
}

/** A keyword value (label, model name): strings kept, numbers/booleans/bigints converted. */
export function keyword(v: unknown, max: number): string | undefined {
  if (typeof v === 'string') return v.length === 0 ? undefined : wellFormed(cut(v, max));
  if (typeof v === 'number') return Number.isFinite(v) ? String(v + 0) : undefined;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/**
 * Milliseconds since the epoch for a Date, number or date string; undefined when invalid. The one
 * reading is {@link readTime} in schema/time.ts (a number below its cut is epoch seconds).
 */
export function timeOf(v: unknown): number | undefined {
  return readTime(v)?.ms;
}

/**
 * A caller-given id we can use as `_id` as it is: a string of 1–256 code units with no control
 * characters or lone surrogates (`_id` is limited to 512 bytes of UTF-8; 256 code units is at most
 * 768 bytes only for astral-heavy text, so we also check the byte length in that case).
 */
export function isUsableId(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const n = v.length;
  if (n === 0 || n > 256) return false;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
    if (c > 0x7e) ascii = false;
  }
  if (ascii) return true;
  return (v as unknown as WellFormed).isWellFormed() && Buffer.byteLength(v, 'utf8') <= 512;
}
