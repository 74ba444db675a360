/**
 * The Elasticsearch path and the offline path on the same data: exact statistics from raw values
 * (stats/drift) against the analyzer's statistics from aggregations over a real cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { analyze, type AnalyzeResult } from '../../src/analyzer/job.js';
import type { FieldResult } from '../../src/analyzer/field-result.js';
import { profileTable, type Cell } from '../../src/profiles/from-file.js';
import { profileFromElasticsearch } from '../../src/profiles/from-elasticsearch.js';
import { addBinMeans, categoryCountsOf, type MonitoredNumericProfile } from '../../src/profiles/profile.js';
import { getBaseline, listBaselines, saveBaseline } from '../../src/profiles/store.js';
import type { CategoricalFeatureProfile, NumericFeatureProfile } from '../../src/profiles/types.js';
import {
  binCounts,
  categoricalDrift,
  ks2samp,
  psiFromCounts,
  wasserstein,
} from '../../src/stats/drift/index.js';
import { pearsonCorrelation } from '../../src/stats/correlation.js';
import { indexProfileAnalyze } from '../helpers/analysis.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { normal, seededRandom, type PredictionInput } from '../helpers/predictions.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const DAY = 86_400_000;
const N_REF = 5000;
const N_CUR = 3000;

interface Columns {
  x: number[];
  y: number[];
  cat: string[];
  score: number[];
}

function generate(n: number, seed: number, shifted: boolean): Columns {
  const rand = seededRandom(seed);
  const c: Columns = { x: [], y: [], cat: [], score: [] };
  const cats = shifted ? ['a', 'b', 'c', 'd', 'e'] : ['a', 'b', 'c', 'd'];
  const weights = shifted ? [0.3, 0.3, 0.2, 0.1, 0.1] : [0.4, 0.3, 0.2, 0.1];
  for (let i = 0; i < n; i++) {
    const x = shifted ? 0.3 + 1.2 * normal(rand) : normal(rand);
    // Rounded to 3 decimals: ties, as real data have.
    const y = Math.round(-Math.log(1 - rand()) * 1000) / 1000;
    let u = rand();
    let k = 0;
    while (k < weights.length - 1 && u >= (weights[k] as number)) u -= weights[k++] as number;
    c.x.push(x);
    c.y.push(y);
    c.cat.push(cats[k] as string);
    // Concept drift: in the shifted window the score no longer follows x.
    c.score.push(1 / (1 + Math.exp(-(shifted ? 0.2 * x + normal(rand) : 2 * x + 0.3 * normal(rand)))));
  }
  return c;
}

function rows(c: Columns, start: number): PredictionInput[] {
  const step = DAY / c.x.length;
  return c.x.map((x, i) => ({
    timestamp: new Date(start + Math.floor(i * step)),
    features: { x, y: c.y[i] as number, cat: c.cat[i] as string },
    prediction: { score: c.score[i] as number },
  }));
}

function field(result: AnalyzeResult, name: string, windowIndex = 0): FieldResult {
  const f = result.versions[0]?.windows[windowIndex]?.fields.find((r) => r.name === name);
  if (!f) throw new Error(`no result for ${name}`);
  return f;
}

describe('Elasticsearch path agrees with the offline path', () => {
  let client: Client;
  const ns = uniqueNamespace('agree');
  const ref = generate(N_REF, 1, false);
  const same = generate(N_CUR, 2, false);
  const cur = generate(N_CUR, 3, true);
  const profile = profileTable(
    {
      path: 'memory',
      format: 'csv',
      columns: ['x', 'y', 'cat', 'prediction.score'],
      rowCount: N_REF,
      cells: new Map<string, Cell[]>([
        ['x', ref.x],
        ['y', ref.y],
        ['cat', ref.cat],
        ['prediction.score', ref.score],
      ]),
    },
    { categorical: ['cat'] },
  );
  addBinMeans(profile.features, (name) => (name === 'x' ? ref.x : name === 'y' ? ref.y : undefined));
  let fromBaseline: AnalyzeResult;

  beforeAll(async () => {
    client = testClient();
    ({ result: fromBaseline } = await indexProfileAnalyze(client, {
      namespace: ns,
      rows: [...rows(ref, T0), ...rows(same, T0 + DAY), ...rows(cur, T0 + 2 * DAY)],
      prepare: () => saveBaseline(client, { model: 'm', version: '1', id: ns, namespace: ns }, profile),
      reference: { type: 'baseline', id: ns },
      from: new Date(T0 + DAY),
      to: new Date(T0 + 3 * DAY),
      windowMs: DAY,
      analyze: { windowSize: '1d', write: true, refresh: true },
    }));
  });
  afterAll(async () => client?.close());

  it('stores, lists and reads back the baseline', async () => {
    const stored = await getBaseline(client, { model: 'm', version: '1', id: ns, namespace: ns });
    expect(stored?.profile.rowCount).toBe(N_REF);
    expect((stored?.profile.features.x as NumericFeatureProfile).counts).toEqual(
      (profile.features.x as NumericFeatureProfile).counts,
    );
    const listed = await listBaselines(client, { model: 'm' });
    expect(listed.find((b) => b.id === ns)?.source).toEqual({ type: 'file', path: 'memory' });
    await expect(
      saveBaseline(client, { model: 'm', version: '1', id: ns, namespace: ns }, profile),
    ).rejects.toThrow(/--replace/);
  });

  for (const [label, windowIndex, data] of [
    ['same distribution', 0, same],
    ['shifted distribution', 1, cur],
  ] as const) {
    describe(label, () => {
      for (const name of ['x', 'y'] as const) {
        it(`${name}: PSI exactly, KS within 0.01, Wasserstein within 2 %`, () => {
          const r = field(fromBaseline, name, windowIndex);
          const p = profile.features[name] as NumericFeatureProfile;
          const offlinePsi = psiFromCounts(p.psiCounts, binCounts(p.psiEdges, data[name]));
          expect(r.drift?.psi).toBeCloseTo(offlinePsi, 12);
          const ks = ks2samp(ref[name], data[name]);
          // Binned KS is a lower bound of the exact one, short by at most the stated bound, itself at
          // most the largest reference bin share (about 1 % with 100 percentile bins).
          const maxShare = Math.max(...p.counts) / p.count;
          expect(r.drift?.ks_error_bound).toBeLessThanOrEqual(maxShare);
          expect(Math.abs((r.drift?.ks as number) - ks.statistic)).toBeLessThanOrEqual(0.01);
          expect(r.drift?.ks as number).toBeLessThanOrEqual(ks.statistic + 1e-12);
          expect(ks.statistic - (r.drift?.ks as number)).toBeLessThanOrEqual(
            (r.drift?.ks_error_bound as number) + 1e-12,
          );
          const w = wasserstein(ref[name], data[name]).normalized;
          process.stdout.write(
            `[agreement] ${label} ${name}: psi es=${r.drift?.psi} offline=${offlinePsi}; ks es=${r.drift?.ks} exact=${ks.statistic} (bound ${r.drift?.ks_error_bound}); wasserstein es=${r.drift?.wasserstein} exact=${w}\n`,
          );
          expect(Math.abs((r.drift?.wasserstein as number) - w) / w).toBeLessThan(0.02);
        });
      }
      it('cat: JS, chi-square and PSI exactly', () => {
        const r = field(fromBaseline, 'cat', windowIndex);
        const counts = new Map<string, number>();
        for (const c of data.cat) counts.set(c, (counts.get(c) ?? 0) + 1);
        const offline = categoricalDrift(
          categoryCountsOf(profile.features.cat as CategoricalFeatureProfile),
          counts,
        );
        expect(r.drift?.js).toBeCloseTo(offline.stats.js, 12);
        expect(r.drift?.chi2_pvalue).toBeCloseTo(offline.stats.chi2_pvalue, 12);
        expect(r.drift?.psi).toBeCloseTo(offline.stats.psi, 12);
        expect(r.drift?.detected).toBe(offline.decision.detected);
        process.stdout.write(
          `[agreement] ${label} cat: js es=${r.drift?.js} offline=${offline.stats.js}; chi2 p es=${r.drift?.chi2_pvalue} offline=${offline.stats.chi2_pvalue}\n`,
        );
      });
    });
  }

  it('decides as DESIGN.md says: both sides above 1000 values → Wasserstein and JS', () => {
    expect(field(fromBaseline, 'x', 0).drift?.method).toBe('wasserstein');
    expect(field(fromBaseline, 'x', 0).drift?.detected).toBe(false);
    expect(field(fromBaseline, 'x', 1).drift?.detected).toBe(true);
    expect(field(fromBaseline, 'cat', 1).drift?.method).toBe('js');
    expect(field(fromBaseline, 'cat', 1).quality.unseen_category_rate).toBeCloseTo(
      cur.cat.filter((c) => c === 'e').length / N_CUR,
      12,
    );
    expect(fromBaseline.versions[0]?.windows[1]?.summary.drifted_features).toContain('x');
  });

  it('out-of-range rate counts values outside the reference [min, max]', () => {
    const min = Math.min(...ref.x);
    const max = Math.max(...ref.x);
    const expected = cur.x.filter((v) => v < min || v > max).length / N_CUR;
    expect(field(fromBaseline, 'x', 1).quality.out_of_range_rate).toBeCloseTo(expected, 12);
  });

  it('a reference window profiled by aggregations agrees with the exact profile and the exact statistics', async () => {
    const p = await profileFromElasticsearch(client, {
      namespace: ns,
      model: 'm',
      version: '1',
      from: new Date(T0),
      to: new Date(T0 + DAY),
    });
    expect(p.rowCount).toBe(N_REF);
    const x = p.features.x as MonitoredNumericProfile;
    const exact = profile.features.x as NumericFeatureProfile;
    expect(x.count).toBe(N_REF);
    expect(x.min).toBe(exact.min);
    expect(x.max).toBe(exact.max);
    expect(x.mean).toBeCloseTo(exact.mean as number, 10);
    expect(x.std).toBeCloseTo(exact.std as number, 10);
    expect(x.counts.reduce((s, c) => s + c, 0)).toBe(N_REF);
    // Every fine bin holds at most about 1 % of the reference (t-digest edges are estimates).
    expect(Math.max(...x.counts) / N_REF).toBeLessThan(0.02);
    expect(x.psiCounts).toEqual(binCounts(x.psiEdges, ref.x));
    const cat = p.features.cat as CategoricalFeatureProfile;
    expect(cat.categories).toEqual((profile.features.cat as CategoricalFeatureProfile).categories);
    // Concept-drift reference: binned correlation against the exact Pearson correlation.
    const exactCorr = pearsonCorrelation(ref.x, ref.score);
    expect(Math.abs((x.outputCorrelation?.value as number) - exactCorr)).toBeLessThan(0.02);

    const r = await analyze(client, {
      namespace: ns,
      model: 'm',
      version: '1',
      from: new Date(T0 + 2 * DAY),
      to: new Date(T0 + 3 * DAY),
      windowMs: DAY,
      reference: { type: 'profile', id: 'es', profile: p },
      write: false,
    });
    const fx = field(r, 'x');
    // This profile has the reference min and the next double above its max as fine edges: the
    // out-of-range rate comes from the outer bins of the one range, and must still be exact.
    expect(x.edges[0]).toBe(exact.min);
    const outside = cur.x.filter((v) => v < (exact.min as number) || v > (exact.max as number)).length;
    expect(outside).toBeGreaterThan(0);
    expect(fx.quality.out_of_range_rate).toBeCloseTo(outside / N_CUR, 12);
    expect(fx.quality.missing_rate).toBe(0);
    expect(fx.count).toBe(N_CUR);
    const ks = ks2samp(ref.x, cur.x);
    expect(Math.abs((fx.drift?.ks as number) - ks.statistic)).toBeLessThanOrEqual(0.01);
    const w = wasserstein(ref.x, cur.x).normalized;
    expect(Math.abs((fx.drift?.wasserstein as number) - w) / w).toBeLessThan(0.02);
    // The score stopped following x: the correlation fell.
    const curCorr = pearsonCorrelation(cur.x, cur.score);
    expect(Math.abs((fx.concept?.window_correlation as number) - curCorr)).toBeLessThan(0.03);
    expect(fx.concept?.detected).toBe(true);
    process.stdout.write(
      `[agreement] ES-profiled reference x: ks es=${fx.drift?.ks} exact=${ks.statistic}; wasserstein es=${fx.drift?.wasserstein} exact=${w}; corr ref es=${x.outputCorrelation?.value} exact=${exactCorr}, window es=${fx.concept?.window_correlation} exact=${curCorr}\n`,
    );
  });
});
