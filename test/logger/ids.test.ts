/**
 * Numeric ids (issue 25, item 5): database keys are often integers. `logPrediction({ id: 42 })`
 * and `logOutcome({ id: 42 })` take it as "42" and join; on main the prediction silently got a
 * UUID and the outcome was dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLogger } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { ensureTemplates } from './helpers.js';

const client = testClient();

beforeAll(async () => {
  await ensureTemplates(client);
});

afterAll(async () => {
  await client.close();
});

describe('numeric ids', () => {
  it('a safe integer id is its decimal text, in predictions and outcomes alike', async () => {
    const ns = uniqueNamespace('numid');
    const logger = createPredictionLogger({
      node: client,
      namespace: ns,
      model: { name: 'ids' },
      spool: false,
      onWarning: () => {},
    });
    expect(logger.logPrediction({ id: 42, features: { a: 1 }, prediction: { label: '1' } })).toBe('42');
    expect(logger.logPrediction({ id: 0, features: { a: 2 }, prediction: { label: '0' } })).toBe('0');
    logger.logOutcome({ id: 42, actual: { label: '1' } });
    logger.logOutcome({ id: 0, actual: { label: '1' } });
    // 2^60 is an integer but not a safe one: its text would not be the caller's key, so a UUID.
    expect(logger.logPrediction({ id: 2 ** 60, features: { a: 3 } })).toMatch(/^[0-9a-f-]{36}$/);
    expect(await logger.flush(30_000)).toBe(true);
    expect(await logger.close()).toMatchObject({ indexed: 5, deadLettered: 0, dropped: 0 });
    await client.indices.refresh({ index: `logs-mlmon.*-${ns}` });
    const predictions = await client.search<{ prediction: { id: string }; mlmon?: unknown }>({
      index: `logs-mlmon.prediction-${ns}`,
      query: { terms: { 'prediction.id': ['42', '0'] } },
    });
    expect(predictions.hits.hits.map((h) => h._id).sort()).toEqual(['0', '42']);
    // The id was taken, not noted as invalid.
    expect(predictions.hits.hits.map((h) => h._source?.mlmon)).toEqual([undefined, undefined]);
    const outcomes = await client.search<{ prediction: { id: string } }>({
      index: `logs-mlmon.outcome-${ns}`,
    });
    expect(outcomes.hits.hits.map((h) => h._source?.prediction.id).sort()).toEqual(['0', '42']);
  }, 60_000);
});
