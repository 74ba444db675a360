/**
 * Edge cases of the window analysis on a real cluster, and re-runs that must not duplicate results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { analyze, type AnalyzeOptions, type AnalyzeResult } from '../../src/analyzer/job.js';
import type { FieldResult } from '../../src/analyzer/field-result.js';
import { resultStream } from '../../src/schema/streams.js';
import { parseTime, splitWindows, WindowError } from '../../src/analyzer/windows.js';
import { DurationError, parseDurationOrThrow as parseDuration } from '../../src/schema/duration.js';
import { run } from '../../src/cli/main.js';
import { indexProfileAnalyze } from '../helpers/analysis.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { normal, seededRandom, type PredictionInput } from '../helpers/predictions.js';

const T0 = Date.parse('2024-06-01T00:00:00Z');
const HOUR = 3_600_000;
const CITIES = 3000;

function reference(): PredictionInput[] {
  const rand = seededRandom(7);
  return Array.from({ length: 2000 }, (_, i) => ({
    timestamp: new Date(T0 + Math.floor((i * HOUR) / 2000)),
    features: {
      x: normal(rand),
      constant: 5,
      gone: rand(),
      nulls: rand(),
      color: rand() < 0.5 ? 'red' : 'blue',
      city: `c${i % CITIES}`,
    },
  }));
}

/** Window 1 (hour 1): same distributions, `gone` absent, `nulls` null, a new colour, a surprise field, type mismatches. */
function window1(): PredictionInput[] {
  const rand = seededRandom(8);
  return Array.from({ length: 1000 }, (_, i) => ({
    timestamp: new Date(T0 + HOUR + Math.floor((i * HOUR) / 1000)),
    features: {
      x: normal(rand),
      constant: i < 500 ? 5 : 6,
      nulls: null,
      color: i % 10 === 0 ? 'green' : rand() < 0.5 ? 'red' : 'blue',
      city: `c${(i * 7) % (2 * CITIES)}`,
      surprise: 1,
    },
    quality: i % 4 === 0 ? { type_mismatch: ['x'] } : undefined,
  }));
}

function field(r: AnalyzeResult, name: string, w = 0): FieldResult | undefined {
  return r.versions[0]?.windows[w]?.fields.find((f) => f.name === name);
}

describe('analyzer edge cases', () => {
  let client: Client;
  const ns = uniqueNamespace('edge');
  let result: AnalyzeResult;
  let options: AnalyzeOptions;

  beforeAll(async () => {
    client = testClient();
    // Hour 2 is empty; hour 3 holds a single document.
    const single: PredictionInput = {
      timestamp: new Date(T0 + 3 * HOUR + 1000),
      features: { x: 0.1, constant: 5, gone: 0.5, nulls: 0.5, color: 'red', city: 'c1' },
    };
    ({ options, result } = await indexProfileAnalyze(client, {
      namespace: ns,
      rows: [...reference(), ...window1(), single],
      model: 'edge',
      reference: { type: 'window', from: new Date(T0), to: new Date(T0 + HOUR) },
      from: new Date(T0 + HOUR),
      to: new Date(T0 + 4 * HOUR),
      windowMs: HOUR,
      analyze: { windowSize: '1h', write: true, refresh: true },
    }));
  });
  afterAll(async () => client?.close());

  it('an empty window has a count of 0, no field results and a zero summary', () => {
    const w = result.versions[0]?.windows[1];
    expect(w?.count).toBe(0);
    expect(w?.fields).toEqual([]);
    expect(w?.summary).toMatchObject({ features: 0, drifted: 0, drift_share: 0 });
  });

  it('a feature absent from the window: missing rate 1, no drift decision', () => {
    const f = field(result, 'gone');
    expect(f?.quality.missing_rate).toBe(1);
    expect(f?.drift).toBeUndefined();
    expect(f?.note).toBe('no values in the window');
  });

  it('all values missing (explicit nulls): missing rate 1', () => {
    expect(field(result, 'nulls')?.quality.missing_rate).toBe(1);
    expect(field(result, 'nulls')?.drift).toBeUndefined();
  });

  it('a constant reference: a changed value is drift, out of range, and the z-score is unbounded (null)', () => {
    const f = field(result, 'constant');
    expect(f?.drift?.method).toBe('ks');
    expect(f?.drift?.ks).toBeCloseTo(0.5, 12);
    expect(f?.drift?.detected).toBe(true);
    expect(f?.quality.out_of_range_rate).toBeCloseTo(0.5, 12);
    expect(f?.drift?.mean_shift_z).toBeNull();
    // Same constant in the single-document window: no drift.
    const same = field(result, 'constant', 2);
    expect(same?.drift?.ks).toBe(0);
    expect(same?.drift?.detected).toBe(false);
  });

  it('a category never seen before: unseen rate and its name', () => {
    const f = field(result, 'color');
    expect(f?.quality.unseen_category_rate).toBeCloseTo(0.1, 12);
    expect(f?.new_categories).toEqual(['green']);
    expect(f?.drift?.detected).toBe(true);
  });

  it('thousands of categories: the reference keeps the top 100 and the rest as one remainder', () => {
    const f = field(result, 'city');
    expect(f?.count).toBe(1000);
    expect(f?.drift?.js).toBeGreaterThan(0);
    expect(f?.drift?.js).toBeLessThanOrEqual(1);
    // Half of the window's cities (c3000…c5999) are new, but with a truncated reference they
    // cannot be told from its remainder: the unseen rate is an upper bound, here every value
    // outside the kept top 100.
    expect(f?.quality.unseen_category_rate).toBeGreaterThan(0.9);
  });

  it('unexpected features and type mismatches are quality results', () => {
    const s = field(result, 'surprise');
    expect(s?.quality.unexpected_feature).toBe('surprise');
    expect(s?.quality.missing_rate).toBe(0);
    expect(field(result, 'x')?.quality.type_mismatch_rate).toBeCloseTo(0.25, 12);
  });

  it('a window with one document', () => {
    const w = result.versions[0]?.windows[2];
    expect(w?.count).toBe(1);
    const x = field(result, 'x', 2);
    expect(x?.drift?.method).toBe('ks');
    expect(x?.drift?.ks_pvalue).toBeGreaterThan(0.05);
  });

  it('re-running the windows overwrites: no duplicate result documents', async () => {
    const countDocs = async (): Promise<{ drift: number; quality: number; ids: number }> => {
      const [d, q] = await Promise.all(
        (['drift', 'quality'] as const).map((k) =>
          client.search({ index: resultStream(k, ns), size: 1000, _source: false, query: { match_all: {} } }),
        ),
      );
      const ids = new Set([...(d?.hits.hits ?? []), ...(q?.hits.hits ?? [])].map((h) => h._id));
      return { drift: d?.hits.hits.length ?? 0, quality: q?.hits.hits.length ?? 0, ids: ids.size };
    };
    const first = await countDocs();
    // 3 windows: summaries for each; drift for decided fields and each multivariate method;
    // quality for every field result.
    const expectedDrift = (result.versions[0]?.windows ?? []).reduce(
      (s, w) => s + 1 + w.fields.filter((f) => f.drift).length + (w.multivariate?.drift.length ?? 0),
      0,
    );
    expect(first.drift).toBe(expectedDrift);
    const again = await analyze(client, options);
    expect(again.written?.created).toBe(0);
    expect((again.written?.overwritten ?? 0) + (again.written?.unchanged ?? 0)).toBe(
      first.drift + first.quality,
    );
    expect(again.written?.created).toBe(0);
    const second = await countDocs();
    expect(second).toEqual(first);
  });
});

describe('windows and times', () => {
  it('aligns windows to multiples of the size and clips the ends', () => {
    const w = splitWindows(
      parseTime('2024-01-01T00:30:00Z'),
      parseTime('2024-01-01T03:00:00Z'),
      parseDuration('1h'),
    );
    expect(w.map((x) => x.start.toISOString())).toEqual([
      '2024-01-01T00:30:00.000Z',
      '2024-01-01T01:00:00.000Z',
      '2024-01-01T02:00:00.000Z',
    ]);
    expect(w[0]?.end.toISOString()).toBe('2024-01-01T01:00:00.000Z');
  });
  it('rejects bad times and durations with clear messages', () => {
    expect(() => parseTime('yesterday')).toThrow(WindowError);
    expect(() => parseDuration('1 hour')).toThrow(DurationError);
    expect(() => parseDuration('1 hour')).toThrow(/e\.g\. 15m/);
    expect(() => parseTime('now-1 hour')).toThrow(WindowError);
    expect(() => splitWindows(new Date(10), new Date(5), 1)).toThrow(/must be after/);
  });
});

describe('CLI', () => {
  const io = () => {
    let out = '';
    let err = '';
    return {
      io: {
        stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
        stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
      },
      out: () => out,
      err: () => err,
    };
  };
  it('every new command has --help', async () => {
    for (const cmd of ['baseline', 'analyze']) {
      const c = io();
      expect(await run([cmd, '--help'], c.io)).toBe(0);
      expect(c.out()).toMatch(new RegExp(`Usage:.*mlmon ${cmd}`, 's'));
    }
  });
  it('bad times give clear errors; a missing baseline a clear note', async () => {
    const bad = io();
    expect(
      await run(['analyze', '--model', 'm', '--from', 'x', '--to', 'now', '--window', '1h'], bad.io),
    ).toBe(2);
    expect(bad.err()).toMatch(/is not a time/);
    const none = io();
    const code = await run(
      [
        'analyze',
        '--model',
        'nobody',
        '--version',
        '9',
        '--namespace',
        uniqueNamespace('cli'),
        '--from',
        'now-1h',
        '--to',
        'now',
        '--window',
        '1h',
      ],
      none.io,
    );
    // issue 12 item 5: no baseline is no longer fatal (performance and service health need none);
    // drift is skipped with a one-line note saying how to add one
    expect(code).toBe(0);
    // (now-1h to now is widened to the two whole hours it touches, and says so first: issue 28)
    expect(none.err()).toMatch(/^note: widened to whole 1h windows: /);
    expect(none.err()).toMatch(
      /\nnote: drift and quality skipped for version 9: no baseline "default" for model nobody version 9 in namespace cli\w+: create one with "mlmon baseline --model nobody --version 9 --namespace cli\w+ /,
    );
  });
});
