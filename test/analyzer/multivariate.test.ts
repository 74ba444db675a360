/**
 * Issue 27 item 1, through Elasticsearch: the correlation flip (x2 = r·x1 + √(1 − r²)·e with r = 0.85
 * in the reference and the first 8 hourly windows of 1,000 rows, r = −0.85 in the next 8; every
 * marginal unchanged). A stored baseline (`buildBaseline`, what `mlmon baseline --from --to` runs)
 * and the drift job (`analyze`, what `mlmon analyze` and the scheduler's drift job run) must write per
 * window one `feature.role: "multivariate"` drift document per method, flagging ≥ 7 of the 8 changed
 * windows and ≤ 1 of the 8 unchanged ones, while the per-feature tests flag x1 and x2 in none.
 * Failed on main (6a74b31): no multivariate document at all (0 of 8 changed windows flagged).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { buildBaseline } from '../../src/analyzer/baseline.js';
import { analyze, type AnalyzeResult } from '../../src/analyzer/job.js';
import { resultStream } from '../../src/schema/streams.js';
import { correlatedRows } from '../helpers/correlation-flip.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { indexPredictions, type PredictionInput } from '../helpers/predictions.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2024-09-01T00:00:00Z');
const REFERENCE_HOURS = 5;
const WINDOWS = 16;

function hourRows(n: number, r: number, seed: number, start: number): PredictionInput[] {
  return correlatedRows(n, r, seed).map((row, i) => ({
    timestamp: new Date(start + Math.floor((i * HOUR) / n)),
    features: row,
    prediction: { score: 1 / (1 + Math.exp(-(row.x1 + row.x2))) },
  }));
}

interface MultivariateDoc {
  window: { start: string };
  feature: { name: string; role: string };
  drift: { method: string; score: number; error?: number; threshold: number; detected: boolean };
}

describe('multivariate drift through Elasticsearch: the correlation flip', () => {
  let client: Client;
  const ns = uniqueNamespace('mv');
  // Baselines are not namespaced: a model name of this file's own.
  const model = `flip-${ns}`;
  const analysisStart = T0 + REFERENCE_HOURS * HOUR;
  let result: AnalyzeResult;
  let docs: MultivariateDoc[];

  beforeAll(async () => {
    client = testClient();
    const rows: PredictionInput[] = [];
    for (let h = 0; h < REFERENCE_HOURS; h++) rows.push(...hourRows(1000, 0.85, 10 + h, T0 + h * HOUR));
    for (let w = 0; w < WINDOWS; w++)
      rows.push(...hourRows(1000, w < 8 ? 0.85 : -0.85, 100 + w, analysisStart + w * HOUR));
    await indexPredictions(client, ns, rows, { model, version: '1' });
    await buildBaseline(client, {
      namespace: ns,
      model,
      version: '1',
      from: new Date(T0),
      to: new Date(analysisStart),
    });
    result = await analyze(client, {
      namespace: ns,
      model,
      version: '1',
      from: new Date(analysisStart),
      to: new Date(analysisStart + WINDOWS * HOUR),
      windowMs: HOUR,
      windowSize: '1h',
      reference: { type: 'baseline' },
      refresh: true,
    });
    const r = await client.search<MultivariateDoc>({
      index: resultStream('drift', ns),
      size: 100,
      query: { term: { 'feature.role': 'multivariate' } },
      sort: [{ 'window.start': 'asc' }],
    });
    docs = r.hits.hits.map((h) => h._source as MultivariateDoc);
  }, 240_000);

  afterAll(async () => {
    await client?.close();
  });

  const changedWindow = (d: MultivariateDoc) => Date.parse(d.window.start) >= analysisStart + 8 * HOUR;

  it('no per-feature test sees the flip', () => {
    for (const w of result.versions[0]?.windows ?? []) {
      for (const name of ['x1', 'x2', 'x3'])
        expect(w.fields.find((f) => f.name === name)?.drift?.detected, `${name} ${w.start}`).toBe(false);
    }
  });

  for (const method of ['pca_reconstruction', 'domain_classifier']) {
    it(`${method}: ≥ 7 of 8 changed windows, ≤ 1 of 8 unchanged, one document per window`, () => {
      const mine = docs.filter((d) => d.drift.method === method);
      expect(mine).toHaveLength(WINDOWS);
      const changed = mine.filter(changedWindow);
      const unchanged = mine.filter((d) => !changedWindow(d));
      expect(changed.filter((d) => d.drift.detected).length).toBeGreaterThanOrEqual(7);
      expect(unchanged.filter((d) => d.drift.detected).length).toBeLessThanOrEqual(1);
      for (const d of mine) {
        expect(d.feature.name).toBe(`_multivariate.${method}`);
        expect(Number.isFinite(d.drift.score)).toBe(true);
        expect(Number.isFinite(d.drift.threshold)).toBe(true);
      }
    });
  }

  it('states the sampling error of the reconstruction error: σ/√n with n the rows sampled', () => {
    const pca = docs.filter((d) => d.drift.method === 'pca_reconstruction');
    const errors = new Set(pca.map((d) => d.drift.error?.toFixed(12)));
    // Every window has 1,000 rows, all sampled (under the 2,000 bound): one sampling error.
    expect(errors.size).toBe(1);
    expect(pca[0]?.drift.error).toBeGreaterThan(0);
  });
});
