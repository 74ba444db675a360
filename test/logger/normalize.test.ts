/**
 * The documented normalisation rules (docs/logger.md), one by one, on the document builder.
 */
import { describe, expect, it } from 'vitest';
import { uuidv7, uuidv7Time } from '../../src/schema/id.js';
import { normalizeName, safeJson } from '../../src/schema/normalize.js';
import {
  buildOutcomeDocument,
  buildPredictionDocument,
  compileSchema,
  isoTime,
  type DocumentContext,
} from '../../src/schema/prediction.js';
import { DEFAULT_LIMITS } from '../../src/schema/normalize.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents read back from Elasticsearch
type Doc = Record<string, any>;

const context: DocumentContext = { model: { name: 'fraud', version: '3' }, limits: DEFAULT_LIMITS };
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5, 6);

function build(event: unknown, ctx = context) {
  const result = buildPredictionDocument(event, 'id-1', NOW, ctx);
  if (!result.ok) throw new Error(result.reason);
  return result.doc as Doc;
}

describe('uuidv7', () => {
  it('is a version-7, variant-10 UUID carrying the millisecond, strictly increasing within a process', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(NOW));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(5000);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    // 5,000 ids in one millisecond overflow the 12-bit counter at most twice: the time moves by <= 2 ms.
    expect(uuidv7Time(ids[0] as string)).toBeGreaterThanOrEqual(NOW);
    expect(uuidv7Time(ids[4999] as string) - NOW).toBeLessThanOrEqual(3);
  });
});

describe('field names', () => {
  it('keeps ordinary names and dots in features, fixes the rest', () => {
    expect(normalizeName('amount', true, 256)).toBe('amount');
    expect(normalizeName('a.b', true, 256)).toBe('a.b');
    expect(normalizeName('a.b', false, 256)).toBe('a_b');
    expect(normalizeName('..a...b.', true, 256)).toBe('a.b');
    expect(normalizeName('a. .b', true, 256)).toBe('a.b');
    expect(normalizeName('', true, 256)).toBe('_empty');
    expect(normalizeName('   ', true, 256)).toBe('_empty');
    expect(normalizeName('...', true, 256)).toBe('_empty');
    expect(normalizeName('tab\there\u0000\u007f', true, 256)).toBe('tab_here__');
    expect(normalizeName('emoji 😀 ok', true, 256)).toBe('emoji 😀 ok');
    expect(normalizeName('lone \ud800 surrogate', true, 256)).toBe('lone \ufffd surrogate');
    const long = 'x'.repeat(10_000);
    const cut = normalizeName(long, true, 256);
    expect(cut.length).toBe(256);
    expect(cut).toMatch(/^x{247}~[0-9a-f]{8}$/);
    expect(normalizeName('y'.repeat(10_000), true, 256)).not.toBe(cut);
  });
});

describe('prediction document', () => {
  it('builds the DESIGN.md fields', () => {
    const doc = build({
      timestamp: new Date(NOW),
      features: { amount: 12.5, country: 'de' },
      prediction: { label: 1, score: 0.91, probabilities: { a: 0.2, 'b.c': 0.8 } },
      actual: { label: '0' },
      latencyMs: 3.2,
      labels: { region: 'eu', tier: 2 },
      explanation: { amount: 0.4 },
    });
    expect(doc).toEqual({
      '@timestamp': '2025-01-02T03:04:05.006Z',
      prediction: { id: 'id-1', label: '1', score: 0.91, probabilities: { a: 0.2, b_c: 0.8 } },
      model: { name: 'fraud', version: '3' },
      features: { amount: 12.5, country: 'de' },
      actual: { label: '0' },
      event: { kind: 'event', duration: 3_200_000 },
      labels: { region: 'eu', tier: '2' },
      explanation: { amount: 0.4 },
    });
  });

  it('normalises hostile values by rule and says so in mlmon.quality', () => {
    const circular: Record<string, unknown> = { ok: 1 };
    circular.self = circular;
    const doc = build({
      timestamp: 'not a date',
      features: {
        nan: NaN,
        inf: Infinity,
        negzero: -0,
        big: 12345678901234567890n,
        sym: Symbol('s'),
        fn: () => 1,
        date: new Date(NOW),
        bad_date: new Date(NaN),
        circ: circular,
        nested: { a: { b: { c: 1 } } },
        deep: { a: { b: { c: { d: { e: { f: 1 } } } } } },
        arr: [1, 2, 3],
        mixed: [1, 'a', null, { x: 1 }],
        empty_arr: [],
        ['__proto__']: 5,
        constructor: 'c',
        long: 'z'.repeat(1 << 20),
        nil: null,
        undef: undefined,
      },
      prediction: { score: NaN },
      latencyMs: -1,
    });
    const f = doc.features;
    expect(doc['@timestamp']).toBe(new Date(NOW).toISOString());
    expect(f.nan).toBeNull();
    // An impossible ISO date is refused, not rolled over to March 2 as Date.parse does.
    const feb30 = build({ timestamp: '2026-02-30T00:00:00Z', features: { a: 1 } });
    expect(feb30['@timestamp']).toBe(new Date(NOW).toISOString());
    expect(feb30.mlmon.quality.invalid).toContain('@timestamp');
    expect(build({ timestamp: '2024-02-29T12:00:00Z', features: { a: 1 } })['@timestamp']).toBe(
      '2024-02-29T12:00:00.000Z',
    );
    expect(f.inf).toBeNull();
    expect(Object.is(f.negzero, 0)).toBe(true);
    expect(f.big).toBe(12345678901234567000);
    expect(f.sym).toBeNull();
    expect(f.fn).toBeNull();
    expect(f.date).toBe(new Date(NOW).toISOString());
    expect(f.bad_date).toBeNull();
    expect(f['circ.ok']).toBe(1);
    expect(f['circ.self']).toBeUndefined();
    expect(f['nested.a.b.c']).toBe(1);
    // Depth limit 5: the sixth level is kept as JSON text.
    expect(f['deep.a.b.c.d']).toBe('{"e":{"f":1}}');
    expect(f.arr).toEqual([1, 2, 3]);
    expect(f.mixed).toEqual(['1', 'a', '{"x":1}']);
    expect(f.empty_arr).toBeNull();
    expect(Object.prototype.hasOwnProperty.call(f, '__proto__')).toBe(true);
    expect(f['__proto__']).toBe(5);
    expect(f.constructor).toBe('c');
    expect(f.long).toHaveLength(1024);
    expect(f.nil).toBeNull();
    const q = doc.mlmon.quality;
    expect(q.missing).toEqual(expect.arrayContaining(['nan', 'empty_arr', 'nil', 'undef']));
    expect(q.invalid).toEqual(
      expect.arrayContaining([
        '@timestamp',
        'inf',
        'sym',
        'fn',
        'bad_date',
        'circ.self',
        'prediction.score',
        'latencyMs',
      ]),
    );
    expect(q.truncated).toEqual(['long']);
    expect(doc.prediction).toEqual({ id: 'id-1' });
    expect(doc.event).toEqual({ kind: 'event' });
    // The document is plain JSON that round-trips, __proto__ key included.
    const text = JSON.stringify(doc);
    expect(JSON.parse(text).features.__proto__).toBe(5);
  });

  it('caps features per event and counts the rest', () => {
    const features: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) features[`f${i}`] = i;
    const doc = build({ features });
    expect(Object.keys(doc.features)).toHaveLength(1000);
    expect(doc.mlmon.quality.features_dropped).toBe(9000);
  });

  it('survives throwing getters and proxies', () => {
    const hostile = {
      get features() {
        throw new Error('boom');
      },
      prediction: new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
        },
      ),
    };
    const doc = build(hostile);
    expect(doc.mlmon.quality.invalid).toEqual([
      'prediction.label',
      'prediction.score',
      'prediction.value',
      'prediction.probabilities',
      'features',
    ]);
    expect(doc.prediction).toEqual({ id: 'id-1' });
  });

  it('fills a missing model name with "unknown" and lists it as missing', () => {
    const doc = build({ features: { a: 1 } }, { ...context, model: { name: '' } });
    expect(doc.model).toEqual({ name: 'unknown' });
    expect(doc.mlmon.quality.missing).toEqual(['model.name']);
  });

  it('tags missing, unexpected, type-mismatched and out-of-range features against a schema', () => {
    const schema = compileSchema({
      features: {
        amount: { type: 'numeric', min: 0, max: 100 },
        country: { type: 'categorical', values: ['de', 'fr'] },
        age: { type: 'numeric' },
        vip: { type: 'boolean' },
      },
    });
    const doc = build(
      { features: { amount: 500, country: 'us', vip: 'yes', extra: 1 } },
      { ...context, schema },
    );
    expect(doc.mlmon.quality).toEqual({
      missing: ['age'],
      unexpected: ['extra'],
      type_mismatch: ['vip'],
      out_of_range: ['amount', 'country'],
    });
  });

  it('rejects with a reason what cannot be a prediction or an outcome', () => {
    expect(buildPredictionDocument(42, 'x', NOW, context)).toEqual({
      ok: false,
      reason: 'a prediction event must be an object, got number',
    });
    expect(buildOutcomeDocument({ actual: { label: 1 } }, NOW, context).ok).toBe(false);
    expect(buildOutcomeDocument({ id: 'p1', actual: {} }, NOW, context).ok).toBe(false);
    const ok = buildOutcomeDocument({ id: 'p1', actual: { value: 2 } }, NOW, context);
    expect(ok.ok && ok.doc.actual).toEqual({ value: 2 });
  });
});

describe('safeJson', () => {
  it('serialises anything, bounded', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(safeJson({ a, b: 1n, s: Symbol('x'), f() {} })).toBe(
      '{"a":["[circular]"],"b":"1n","s":"Symbol(x)","f":"[function f]"}',
    );
    expect(safeJson('x'.repeat(100), 10)).toHaveLength(10);
  });
});

describe('isoTime (the cached-minute @timestamp formatter)', () => {
  it('formats every millisecond as Date.prototype.toISOString does', () => {
    // The reference is the platform's own formatter. Times in sequence within one minute (the cached
    // path), across minute and year boundaries, before 1970, fractional, and the ends of 0001-9999.
    const times = [
      1764686000000, 1764686000001, 1764686000001.7, 1764686059999, 1764686060000, 1764686000000, -0.5, 0,
      0.9, -1, -60_000, -62135596800000, 253402300799999, 253402300800000, 946684799999, 946684800000,
    ];
    for (let i = 0; i < 5000; i++)
      times.push(1764686000000 + i * 37, Math.floor(Math.random() * 5e12) - 2e12);
    const wrong = times.filter((t) => isoTime(t) !== new Date(t).toISOString());
    expect(wrong).toEqual([]);
  });
});
