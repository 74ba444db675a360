/**
 * `buildBaseline` for a regressor against a real Elasticsearch: predictions with their actual
 * values are written WITHOUT a refresh, and the baseline built right after must join them, read the
 * labelled reference rows (inputs as Elasticsearch indexed them) and store the direct loss
 * estimation model in `mlmon-baselines`, from which it is reloaded unchanged; with too few labels it
 * stores why there is none; a classifier's baseline gets no loss model at all.
 */
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseline } from '../../src/analyzer/baseline.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { MIN_LOSS_MODEL_LABELS, referenceLossRows } from '../../src/profiles/loss-model.js';
import { getBaseline } from '../../src/profiles/store.js';
import { streamNames } from '../../src/schema/streams.js';
import { fitDirectLossModel } from '../../src/stats/performance/dle.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropBaselines, dropNamespace } from '../performance/fixtures.js';
import { regressionRows } from '../performance/regression-synthetic.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const WINDOW = { from: new Date(T0), to: new Date(T0 + 3_600_000) };

/** n regression predictions with actual values; row 5 has x1 as the string "1.5" (the mapping, set by row 0, is double), row 1 no x2. */
async function logRegression(client: Client, namespace: string, model: string, n: number) {
  const operations: unknown[] = [];
  for (const [i, r] of regressionRows(n, 42).entries()) {
    const id = `${model}-${i}`;
    operations.push(
      { create: { _index: streamNames(namespace).prediction, _id: id } },
      {
        '@timestamp': new Date(T0 + i * 1000).toISOString(),
        model: { name: model, version: '1' },
        prediction: { id, value: r.predicted },
        features: {
          x1: i === 5 ? '1.5' : r.x1,
          ...(i === 1 ? {} : { x2: r.x2 }),
          region: i % 2 ? 'eu' : 'us',
        },
        actual: { value: r.actual },
      },
    );
  }
  const response = await client.bulk({ operations: operations as never });
  expect(response.errors).toBe(false);
}

describe('buildBaseline: the loss model stored with a regressor baseline', () => {
  const client = testClient();
  const namespace = uniqueNamespace('baseloss');
  const models = ['reg', 'fewreg', 'clf'];

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await dropBaselines(client, namespace, models);
    await dropNamespace(client, namespace, models);
    await client.close();
  });

  it('joins the just-logged actuals, fits on the indexed inputs and reloads the model unchanged', async () => {
    await logRegression(client, namespace, 'reg', 600);
    const built = await buildBaseline(client, {
      namespace,
      model: 'reg',
      version: '1',
      id: namespace,
      ...WINDOW,
    });
    expect(built.lossModel?.method).toBe('dle');
    const model = built.lossModel?.method === 'dle' ? built.lossModel.model : undefined;
    // Inputs: the numeric features (the keyword `region` is left out) and the prediction.
    expect(model?.inputs).toEqual(['features.x1', 'features.x2', 'prediction.value']);
    expect(model?.count).toBe(600);
    const stored = await getBaseline(client, { model: 'reg', version: '1', id: namespace, namespace });
    expect(stored?.profile.lossModel).toEqual(model);

    // The rows as read: the string "1.5" as the double Elasticsearch indexed, the absent x2 as
    // missing; refitting on them gives the stored model (the fit is deterministic).
    const { rows, errors } = await referenceLossRows(client, {
      namespace,
      model: 'reg',
      version: '1',
      ...WINDOW,
      inputs: model?.inputs ?? [],
    });
    expect(rows).toHaveLength(600);
    expect(rows[5]?.[0]).toBe(1.5);
    expect(rows[1]?.[1]).toBeNull();
    const r2 = regressionRows(600, 42)[2];
    expect(rows[2]).toEqual([r2?.x1, r2?.x2, r2?.predicted]);
    expect(errors[2]).toBeCloseTo((r2?.predicted ?? 0) - (r2?.actual ?? 0), 12);
    expect(fitDirectLossModel({ inputs: model?.inputs ?? [], rows, errors })).toEqual(model);
  });

  it(`stores the reason when fewer than ${MIN_LOSS_MODEL_LABELS} reference predictions are labelled`, async () => {
    await logRegression(client, namespace, 'fewreg', 150);
    const built = await buildBaseline(client, {
      namespace,
      model: 'fewreg',
      version: '1',
      id: namespace,
      ...WINDOW,
    });
    expect(built.lossModel).toMatchObject({ method: 'none', reason: 'too_few_labels', labelled: 150 });
    const stored = await getBaseline(client, { model: 'fewreg', version: '1', id: namespace, namespace });
    expect(stored?.profile.lossModel).toBeUndefined();
    expect(stored?.profile.noLossModel?.message).toMatch(
      /150 labelled reference predictions, fewer than the 200/,
    );
  });

  it('a classifier baseline has no loss model and no reason', async () => {
    const operations: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `clf-${i}`;
      operations.push(
        { create: { _index: streamNames(namespace).prediction, _id: id } },
        {
          '@timestamp': new Date(T0 + i * 1000).toISOString(),
          model: { name: 'clf', version: '1' },
          prediction: { id, score: (i % 10) / 10, label: i % 10 >= 5 ? '1' : '0' },
          features: { x: i },
          actual: { label: i % 3 === 0 ? '1' : '0' },
        },
      );
    }
    expect((await client.bulk({ operations: operations as never })).errors).toBe(false);
    const built = await buildBaseline(client, {
      namespace,
      model: 'clf',
      version: '1',
      id: namespace,
      ...WINDOW,
    });
    expect(built.lossModel).toBeUndefined();
    const stored = await getBaseline(client, { model: 'clf', version: '1', id: namespace, namespace });
    expect(stored?.profile.lossModel).toBeUndefined();
    expect(stored?.profile.noLossModel).toBeUndefined();
  });
});
