/**
 * Explanation-weighted drift ranking: each feature's importance is its mean |attribution| in the
 * reference (from `explanation.<feature>`), computed by Elasticsearch aggregations (sums of the
 * positive and of the negative values) or from a file, and checked here against the raw values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { analyze, type AnalyzeResult } from '../../src/analyzer/job.js';
import { profileTable, type Cell } from '../../src/profiles/from-file.js';
import type { MonitoredNumericProfile } from '../../src/profiles/profile.js';
import type { DatasetProfile, NumericFeatureProfile } from '../../src/profiles/types.js';
import { binCounts, psiFromCounts } from '../../src/stats/drift/index.js';
import { run } from '../../src/cli/main.js';
import { DATASET_FEATURE } from '../../src/analyzer/results.js';
import { resultStream } from '../../src/schema/streams.js';
import { indexProfileAnalyze } from '../helpers/analysis.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { normal, seededRandom, type PredictionInput } from '../helpers/predictions.js';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const DAY = 86_400_000;
const FEATURES = ['a', 'b', 'c'] as const;
/** Attribution = weight × (value − 0.2) + noise: signs of both kinds, importance about |weight|·E|x − 0.2|. */
const WEIGHTS = { a: 2, b: 0.5, c: 0.1 };

interface Data {
  x: Record<(typeof FEATURES)[number], number[]>;
  phi: Record<(typeof FEATURES)[number], number[]>;
}

function generate(n: number, seed: number, shift: { a: number; b: number; c: number }): Data {
  const rand = seededRandom(seed);
  const d: Data = { x: { a: [], b: [], c: [] }, phi: { a: [], b: [], c: [] } };
  for (let i = 0; i < n; i++) {
    for (const f of FEATURES) {
      const v = normal(rand) + shift[f];
      d.x[f].push(v);
      d.phi[f].push(WEIGHTS[f] * (v - 0.2) + 0.05 * normal(rand));
    }
  }
  return d;
}

function rows(d: Data, start: number): PredictionInput[] {
  const n = d.x.a.length;
  return Array.from({ length: n }, (_, i) => ({
    timestamp: new Date(start + Math.floor((i * DAY) / n)),
    features: { a: d.x.a[i] as number, b: d.x.b[i] as number, c: d.x.c[i] as number },
    explanation: { a: d.phi.a[i] as number, b: d.phi.b[i] as number, c: d.phi.c[i] as number },
  }));
}

const meanAbs = (xs: number[]): number => xs.reduce((s, v) => s + Math.abs(v), 0) / xs.length;

describe('explanation-weighted drift ranking', () => {
  let client: Client;
  const ns = uniqueNamespace('expl');
  const ref = generate(4000, 21, { a: 0, b: 0, c: 0 });
  // a (important) and c (barely used) drift; b does not.
  const cur = generate(3000, 22, { a: 0.8, b: 0, c: 0.8 });
  let esProfile: DatasetProfile;
  let result: AnalyzeResult;

  beforeAll(async () => {
    client = testClient();
    const run = await indexProfileAnalyze(client, {
      namespace: ns,
      rows: [...rows(ref, T0), ...rows(cur, T0 + DAY)],
      reference: { profileFrom: new Date(T0), profileTo: new Date(T0 + DAY) },
      from: new Date(T0 + DAY),
      to: new Date(T0 + 2 * DAY),
      windowMs: DAY,
    });
    esProfile = run.profile as DatasetProfile;
    result = run.result;
  });
  afterAll(async () => client?.close());

  it('importance from aggregations equals mean |attribution| of the raw reference values', () => {
    for (const f of FEATURES) {
      const p = esProfile.features[`explanation.${f}`] as MonitoredNumericProfile;
      const exact = meanAbs(ref.phi[f]);
      expect(Math.abs((p.meanAbsAttribution as number) - exact) / exact).toBeLessThan(1e-9);
    }
    // The attributions take both signs, so |sum| / n would be far off: the sign split matters.
    const naive = Math.abs(ref.phi.a.reduce((s, v) => s + v, 0)) / ref.phi.a.length;
    expect(naive).toBeLessThan(0.7 * meanAbs(ref.phi.a));
  });

  it('ranks by importance share × PSI, and weights the drift share by importance', () => {
    const summary = result.versions[0]?.windows[0]?.summary;
    const ranking = summary?.importance?.ranking ?? [];
    const total = FEATURES.reduce((s, f) => s + meanAbs(ref.phi[f]), 0);
    const expected = FEATURES.map((f) => {
      const p = esProfile.features[f] as NumericFeatureProfile;
      const psi = psiFromCounts(p.psiCounts, binCounts(p.psiEdges, cur.x[f]));
      const importance = meanAbs(ref.phi[f]) / total;
      return { feature: f, importance, psi, weighted: importance * psi };
    }).sort((x, y) => y.weighted - x.weighted);
    process.stdout.write(`[explanations] ${JSON.stringify(summary?.importance)}\n`);
    expect(ranking.map((r) => r.feature)).toEqual(expected.map((e) => e.feature));
    expect(ranking.map((r) => r.feature)).toEqual(['a', 'c', 'b']);
    ranking.forEach((r, k) => {
      const e = expected[k] as (typeof expected)[number];
      expect(r.importance).toBeCloseTo(e.importance, 9);
      expect(r.psi).toBeCloseTo(e.psi, 12);
      expect(r.weighted_psi).toBeCloseTo(e.weighted, 9);
    });
    expect(summary?.drifted_features.sort()).toEqual(['a', 'c']);
    // a and c drifted: 2 of 3 features, but by importance (2 : 0.1 of 2.6) far more than 2/3 of the model.
    const share =
      (expected.find((e) => e.feature === 'a')?.importance ?? 0) +
      (expected.find((e) => e.feature === 'c')?.importance ?? 0);
    expect(summary?.importance?.weighted_drift_share).toBeCloseTo(share, 9);
    expect(summary?.importance?.weighted_drift_share).toBeGreaterThan(0.75);
  });

  it('a file baseline with explanation.* columns gives the same importances', () => {
    const columns = [...FEATURES, ...FEATURES.map((f) => `explanation.${f}`)];
    const cells = new Map<string, Cell[]>();
    for (const f of FEATURES) {
      cells.set(f, ref.x[f]);
      cells.set(`explanation.${f}`, ref.phi[f]);
    }
    const p = profileTable({ path: 'memory', format: 'csv', columns, rowCount: 4000, cells });
    for (const f of FEATURES) {
      const m = (p.features[`explanation.${f}`] as MonitoredNumericProfile).meanAbsAttribution as number;
      expect(Math.abs(m - meanAbs(ref.phi[f])) / meanAbs(ref.phi[f])).toBeLessThan(1e-12);
    }
  });

  it('the dataset summary document stores the ranking', async () => {
    await analyze(client, {
      namespace: ns,
      model: 'm',
      version: '1',
      from: new Date(T0 + DAY),
      to: new Date(T0 + 2 * DAY),
      windowMs: DAY,
      reference: { type: 'profile', id: 'es', profile: esProfile },
      refresh: true,
    });
    const r = await client.search<{
      summary: { importance: { weighted_drift_share: number; ranking: Array<{ feature: string }> } };
    }>({
      index: resultStream('drift', ns),
      query: { term: { 'feature.name': DATASET_FEATURE } },
    });
    const stored = r.hits.hits[0]?._source?.summary.importance;
    expect(r.hits.hits).toHaveLength(1);
    expect(stored?.ranking.map((x) => x.feature)).toEqual(['a', 'c', 'b']);
    expect(stored?.weighted_drift_share).toBe(
      result.versions[0]?.windows[0]?.summary.importance?.weighted_drift_share,
    );
  });

  it('the CLI table prints the ranking', async () => {
    const stdout: string[] = [];
    const io = {
      stdout: { write: (s: string) => stdout.push(s) },
      stderr: { write: () => undefined },
    };
    const code = await run(
      [
        'analyze',
        '--model',
        'm',
        '--version',
        '1',
        '--namespace',
        ns,
        '--from',
        new Date(T0 + DAY).toISOString(),
        '--to',
        new Date(T0 + 2 * DAY).toISOString(),
        '--window',
        '1d',
        '--reference-from',
        new Date(T0).toISOString(),
        '--reference-to',
        new Date(T0 + DAY).toISOString(),
        '--drift-only',
        '--dry-run',
      ],
      io as never,
    );
    expect(code).toBe(0);
    const text = stdout.join('');
    expect(text).toMatch(/importance-weighted drift share 0\.\d{3}/);
    expect(text).toMatch(/by importance × PSI: a \(drifted\) importance 0\.\d+/);
  });
});
