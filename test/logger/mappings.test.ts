/**
 * The fields the logger sets are mapped by the shipped template, not left to dynamic mapping:
 * `mlmon.quality.invalid` and `.truncated` as keyword (names), `.features_dropped` as long (a count;
 * dynamic mapping already made it long in streams created before the template mapped it, so keyword
 * would make the field a type conflict across backing indices).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLogger } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { backingIndices } from '../../src/elastic/upsert.js';
import { ensureTemplates, tempSpoolDir } from './helpers.js';

const client = testClient();

beforeAll(async () => {
  await ensureTemplates(client);
});

afterAll(async () => {
  await client.close();
});

describe('mlmon.quality mappings', () => {
  it('maps invalid and truncated as keyword and features_dropped as long, and they can be queried', async () => {
    const ns = uniqueNamespace('qualitymap');
    const logger = createPredictionLogger({
      node: client.connectionPool.connections[0]?.url.toString(),
      namespace: ns,
      model: { name: 'qualitymap' },
      spool: { dir: tempSpoolDir('qualitymap') },
      onWarning: () => {},
    });
    const features: Record<string, unknown> = { inf: Infinity, long_text: 'x'.repeat(2000) };
    for (let i = 0; i < 1005; i++) features[`f${i}`] = i;
    const id = logger.logPrediction({ features, prediction: { label: '1' } });
    expect(await logger.flush()).toBe(true);
    await logger.close();

    const stream = `logs-mlmon.prediction-${ns}`;
    const [index] = await backingIndices(client, stream);
    const fields = await client.indices.getFieldMapping({
      index: index as string,
      fields: ['mlmon.quality.invalid', 'mlmon.quality.truncated', 'mlmon.quality.features_dropped'],
    });
    const mappings = Object.values(fields)[0]?.mappings ?? {};
    const typeOf = (f: string) => (Object.values(mappings[f]?.mapping ?? {})[0] as { type?: string })?.type;
    expect(typeOf('mlmon.quality.invalid')).toBe('keyword');
    expect(typeOf('mlmon.quality.truncated')).toBe('keyword');
    expect(typeOf('mlmon.quality.features_dropped')).toBe('long');

    await client.indices.refresh({ index: stream });
    const hits = await client.search({
      index: stream,
      query: {
        bool: {
          filter: [
            { term: { 'mlmon.quality.invalid': 'inf' } },
            { term: { 'mlmon.quality.truncated': 'long_text' } },
            { range: { 'mlmon.quality.features_dropped': { gte: 5 } } },
          ],
        },
      },
    });
    expect(hits.hits.hits.map((h) => h._id)).toEqual([id]);
  });
});
