/**
 * The scheduler's performance job estimates a regressor's MAE and RMSE through the loss model
 * stored with the model's baseline, on its FIRST pass after the writes (predictions with their
 * actual values and the baseline written without a refresh).
 *
 * Expected values are computed here: the stored loss model applied row by row to the window's rows
 * (estimateLossFromRows), which the in-cluster range aggregations must reproduce; the realised MAE
 * from the rows. The window's inputs are shifted (x₁ ~ N(0.5, 1)) and its truth unchanged, so the
 * labelled predictions agree with the estimate: the verdict is present and "reliable" unless the
 * realised MAE is 3 sampling errors away (it is 0.01 away in the run that set this up; 3σ = 0.057).
 */
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseline } from '../../src/analyzer/baseline.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { getBaseline } from '../../src/profiles/store.js';
import { validateConfig, type MlmonConfig } from '../../src/schema/config.js';
import { streamNames } from '../../src/schema/streams.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { estimateLossFromRows, type DirectLossModel } from '../../src/stats/performance/dle.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { quietScheduler as scheduler } from '../helpers/scheduler.js';
import { dropBaselines, dropNamespace } from '../performance/fixtures.js';
import { errorOf, lossRow, regressionRows, type RegressionRow } from '../performance/regression-synthetic.js';

const HOUR = 3_600_000;
const MODEL = 'dle-sched';

function config(namespace: string, start: number): MlmonConfig {
  return validateConfig(
    {
      namespace,
      scheduler: { owner: 'estimated-regression', lockTtl: '60s', maxCatchUp: 100 },
      models: [
        {
          name: MODEL,
          versions: ['1'],
          window: '1h',
          delay: '0s',
          start: new Date(start).toISOString(),
          baseline: namespace,
          jobs: ['performance'],
          performance: { labelHorizon: '365d' },
        },
      ],
    },
    { env: {} },
  );
}

function operations(namespace: string, rows: RegressionRow[], start: number, prefix: string): unknown[] {
  return rows.flatMap((r, i) => [
    { create: { _index: streamNames(namespace).prediction, _id: `${prefix}-${i}` } },
    {
      '@timestamp': new Date(start + i * 3000).toISOString(),
      model: { name: MODEL, version: '1' },
      prediction: { id: `${prefix}-${i}`, value: r.predicted },
      features: { x1: r.x1, x2: r.x2 },
      actual: { value: r.actual },
    },
  ]);
}

async function write(client: Client, ops: unknown[]): Promise<void> {
  const r = await client.bulk({ operations: ops as never, refresh: false });
  if (r.errors) throw new Error(JSON.stringify(r.items.find((it) => it.create?.error)?.create?.error));
}

describe('the scheduler estimates MAE and RMSE with the baseline loss model', () => {
  const client = testClient();
  const namespace = uniqueNamespace('dlesched');

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await dropBaselines(client, namespace, [MODEL]);
    await dropNamespace(client, namespace, [MODEL]);
    await client.close();
  });

  it(
    'first pass: estimated MAE/RMSE equal the stored trees applied row by row, with a verdict',
    { timeout: 300_000 },
    async () => {
      const window = alignDown(Date.now(), HOUR) - HOUR;
      const reference = window - 2 * HOUR;
      const refRows = regressionRows(1000, 31);
      const rows = regressionRows(1000, 32, 0.5);
      await write(client, [
        ...operations(namespace, refRows, reference, 'r'),
        ...operations(namespace, rows, window, 'w'),
      ]);
      const built = await buildBaseline(client, {
        namespace,
        model: MODEL,
        version: '1',
        id: namespace,
        from: new Date(reference),
        to: new Date(reference + HOUR),
      });
      expect(built.lossModel?.method).toBe('dle');
      const model = (await getBaseline(client, { model: MODEL, version: '1', id: namespace, namespace }))
        ?.profile.lossModel as DirectLossModel;

      expect((await scheduler(client, config(namespace, window)).runDue()).failed).toBe(0);
      const index = streamNames(namespace).performance;
      await client.indices.refresh({ index });
      const found = await client.search<{ performance: Record<string, unknown> }>({
        index,
        size: 10,
        query: {
          bool: {
            filter: [
              { term: { 'model.name': MODEL } },
              { term: { 'performance.scope': 'model' } },
              { term: { 'window.start': new Date(window).toISOString() } },
            ],
          },
        },
      });
      expect(found.hits.hits).toHaveLength(1);
      const perf = found.hits.hits[0]?._source?.performance as Record<string, unknown>;
      const est = perf.estimated as Record<string, unknown>;
      const offline = estimateLossFromRows(model, rows.map(lossRow));
      expect(est.method).toBe('dle');
      expect(est.count).toBe(1000);
      expect(est.mae as number).toBeCloseTo(offline.mae, 9);
      expect(est.rmse as number).toBeCloseTo(offline.rmse, 9);
      expect(est.mae_upper as number).toBeCloseTo(offline.maeUpper, 9);
      const realisedMae = rows.reduce((a, r) => a + Math.abs(errorOf(r)), 0) / rows.length;
      expect(perf.mae as number).toBeCloseTo(realisedMae, 9);
      expect((est.check as Record<string, unknown>).labelled).toBe(1000);
      expect(typeof est.reliable).toBe('boolean');
    },
  );
});
