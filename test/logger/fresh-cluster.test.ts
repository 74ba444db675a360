/**
 * A service that logs before anyone ran `mlmon setup`: on a fresh cluster with no mlmon templates,
 * the logger installs them before its first write, so the prediction stream is a data stream with
 * mlmon's mappings rather than an index with guessed ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@elastic/elasticsearch';
import { LocalCluster } from '../../src/elastic/local-cluster.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { tempSpoolDir } from './helpers.js';

const cluster = new LocalCluster({ name: 'fresh-templates-test', log: () => {} });
let client: Client;

beforeAll(async () => {
  await cluster.start();
  client = new Client({ node: cluster.url });
}, 240_000);

afterAll(async () => {
  await client?.close();
  await cluster.stop();
});

describe('the logger on a cluster without templates', () => {
  it('installs them before the first write', async () => {
    expect(await client.indices.existsIndexTemplate({ name: 'mlmon-prediction' })).toBe(false);
    const logger = createPredictionLogger({
      node: cluster.url,
      namespace: 'fresh',
      model: { name: 'm', version: '1' },
      spool: { dir: tempSpoolDir('fresh') },
      onWarning: () => {},
    });
    // A string first: with guessed mappings it would make `amount` a text field for good.
    logger.logPrediction({ features: { amount: '12.5', country: 'de' }, prediction: { score: 0.9 } });
    logger.logPrediction({ features: { amount: 7, country: 'fr' }, prediction: { score: 0.1 } });
    // The first write waits for the templates on a node that has just started: on a loaded machine
    // longer than close()'s own limit (10 s), so wait for delivery first, generously.
    expect(await logger.flush(120_000)).toBe(true);
    const counters = await logger.close();
    expect(counters).toMatchObject({ indexed: 2, deadLettered: 0, dropped: 0 });
    expect(await client.indices.existsIndexTemplate({ name: 'mlmon-prediction' })).toBe(true);
    const resolved = await client.indices.resolveIndex({ name: 'logs-mlmon.prediction-fresh' });
    expect(resolved.data_streams.map((d) => d.name)).toEqual(['logs-mlmon.prediction-fresh']);
    const mapping = await client.indices.getMapping({ index: 'logs-mlmon.prediction-fresh' });
    const props = Object.values(mapping)[0]?.mappings.properties as Record<
      string,
      { subobjects?: boolean; properties?: Record<string, { type?: string }> }
    >;
    expect(props.features?.subobjects).toBe(false);
    expect(props.prediction?.properties?.score?.type).toBe('double');
  }, 120_000);
});
