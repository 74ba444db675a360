/**
 * The demo's clean-up of an earlier run (src/cli/demo/cleanup.ts) on a real Elasticsearch: every
 * data stream of the namespace is rolled over and its earlier backing indices deleted, the count
 * it reports is what the streams held, and a namespace holding another model's predictions is
 * refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeEarlierRun } from '../../src/cli/demo/cleanup.js';
import { DEMO_DATASETS } from '../../src/cli/demo/datasets.js';
import { TemplateDowngradeError } from '../../src/elastic/templates.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { ensureTemplates } from '../logger/helpers.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const ds = DEMO_DATASETS.elec;

beforeAll(async () => {
  // A cluster shared with a newer checkout may hold newer templates: those serve as well.
  await ensureTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
});

afterAll(async () => {
  await client.close();
});

/** Logs `n` predictions of `model` (and an outcome for every other one) into the namespace. */
async function logRun(namespace: string, model: string, n: number) {
  const logger = createPredictionLogger({ node: esUrl(), namespace, spool: false, onWarning: () => {} });
  for (let i = 0; i < n; i++) {
    logger.logPrediction({
      id: `${model}-${i}`,
      model: { name: model },
      features: { x: i },
      prediction: { label: '1' },
    });
    if (i % 2 === 0) logger.logOutcome({ id: `${model}-${i}`, actual: { label: '1' } });
  }
  expect(await logger.flush(60_000)).toBe(true);
  await logger.close();
}

const held = async (namespace: string) => {
  const pattern = `logs-mlmon.*-${namespace},metrics-mlmon.*-${namespace}`;
  await client.indices.refresh({ index: pattern, expand_wildcards: 'all' });
  return (await client.count({ index: pattern, expand_wildcards: 'all' })).count;
};

describe('the demo removes an earlier run', () => {
  it('empties every stream of the namespace and says how many documents it removed', async () => {
    const ns = uniqueNamespace('democlean');
    await logRun(ns, ds.model.name, 30);
    // 30 predictions and 15 outcomes (every other one), in two streams.
    expect(await held(ns)).toBe(45);
    const removed = await removeEarlierRun(client, ns, ds, Date.UTC(1996, 5, 6), Date.UTC(1996, 5, 20));
    expect(removed).toBe(45);
    expect(await held(ns)).toBe(0);
    // The streams are still there (a new write index each), ready for the new run.
    const resolved = await client.indices.resolveIndex({
      name: `logs-mlmon.*-${ns}`,
      expand_wildcards: 'all',
    });
    expect(resolved.data_streams.map((s) => s.name).sort()).toEqual([
      `logs-mlmon.outcome-${ns}`,
      `logs-mlmon.prediction-${ns}`,
    ]);
    expect(resolved.data_streams.map((s) => s.backing_indices.length)).toEqual([1, 1]);
  }, 120_000);

  it("refuses a namespace holding another model's predictions, and removes nothing", async () => {
    const ns = uniqueNamespace('democleanother');
    await logRun(ns, 'fraud', 4);
    // 4 predictions, 2 outcomes; refreshed, as an earlier run's documents are.
    expect(await held(ns)).toBe(6);
    await expect(
      removeEarlierRun(client, ns, ds, Date.UTC(1996, 5, 6), Date.UTC(1996, 5, 20)),
    ).rejects.toThrow(
      `namespace ${ns} holds predictions of other models than ${ds.model.name}: give the demo a namespace of its own (--namespace)`,
    );
    expect(await held(ns)).toBe(6);
  }, 120_000);
});
