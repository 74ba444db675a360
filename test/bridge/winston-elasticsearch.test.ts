/**
 * The winston-elasticsearch bridge against the real Elasticsearch: a winston logger with
 * winston-elasticsearch 0.19's own `ElasticsearchTransport` (its bulk writer, not ours) and mlmon's
 * options writes prediction documents into `logs-mlmon.prediction-{ns}`; they get mlmon's mapping,
 * are the documents mlmon's builder makes, and the analyzer's source query counts them.
 */
import winston from 'winston';
import { ElasticsearchTransport } from 'winston-elasticsearch';
import { afterAll, describe, expect, it } from 'vitest';
import { rangeQuery } from '../../src/elastic/filters.js';
import {
  mlmonTransportOptions,
  predictionTransformer,
  setupMlmonTemplates,
} from '../../src/bridge/winston-elasticsearch.js';
import { logStream } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

const client = testClient();
const ns = uniqueNamespace('wes');
const stream = logStream('prediction', ns);
const model = { name: 'bridge', version: '2' };
const HOUR = 3_600_000;
const base = Date.UTC(2026, 0, 10, 0, 0, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Prediction i: inside [base, base + 1h) for i < 30, an hour later for the 10 after. */
function event(i: number) {
  return {
    id: `wes-${i}`,
    timestamp: new Date(base + (i < 30 ? i * 60_000 : HOUR + (i - 30) * 60_000)).toISOString(),
    features: { amount: i * 1.5, country: i % 2 === 0 ? 'DE' : 'FR' },
    prediction: { label: String(i % 2), score: (i % 10) / 10 },
    latencyMs: 3,
  };
}

afterAll(async () => {
  await client.indices.deleteDataStream({ name: stream }).catch(() => undefined);
  await client.close();
});

describe('mlmon/winston-elasticsearch', () => {
  it('an existing ElasticsearchTransport writes mlmon prediction documents the analyzer reads', async () => {
    await setupMlmonTemplates(client);
    const errors: unknown[] = [];
    const transport = new ElasticsearchTransport({
      ...mlmonTransportOptions({ client, namespace: ns, model }),
      // winston-elasticsearch also uses the flush interval as the bulk request's `timeout`: at 200 ms
      // a loaded cluster answered items with mapper_exception ("timed out while waiting for a dynamic
      // mapping update") and the transport re-sent whole batches, 78 documents for 40 entries (a run
      // on the shared 2-core test machine; docs/logger.md). 5 s leaves room for the first mapping.
      flushInterval: 5000,
      // Where winston-elasticsearch reports item errors (an option of 0.19 missing from its types).
      ...({ internalLogger: (...args: unknown[]) => errors.push(args) } as object),
    });
    transport.on('error', (e) => errors.push(e));
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('service started'); // an ordinary line: must not reach the prediction stream
    for (let i = 0; i < 40; i++) logger.info('prediction', event(i));
    logger.warn('slow request', { path: '/score' }); // another ordinary line

    // winston-elasticsearch's flush() returns before a write already under way ends: wait for the
    // count (bounded; the assertions below are on the numbers, not on the time).
    let stored = 0;
    for (let t = 0; t < 600 && stored < 40; t++) {
      await transport.flush();
      await client.indices.refresh({ index: stream, ignore_unavailable: true });
      // The first bulk creates the data stream: until its shard has started, a count answers
      // no_shard_available_action_exception (seen in a CI run). That is "not yet", not a failure.
      stored = await client
        .count({ index: stream, ignore_unavailable: true })
        .then((r) => r.count)
        .catch((error: unknown) => {
          if (String(error).includes('no_shard_available_action_exception')) return 0;
          throw error;
        });
      if (stored < 40) await sleep(100);
    }
    // 40 prediction entries logged, the 2 ordinary lines filtered out by the transport's format.
    expect(stored).toBe(40);
    expect(errors).toEqual([]);

    // The analyzer's source query: 30 of the 40 fall in [base, base + 1h) (event() puts them there).
    const inWindow = await client.count({
      index: stream,
      query: rangeQuery({ model: model.name, version: model.version }, new Date(base), new Date(base + HOUR)),
    });
    expect(inWindow.count).toBe(30);
    // Another version's query finds none of them.
    const otherVersion = await client.count({
      index: stream,
      query: rangeQuery({ model: model.name, version: '1' }, new Date(base), new Date(base + HOUR)),
    });
    expect(otherVersion.count).toBe(0);

    // mlmon's mapping (from mlmon's templates, not winston-elasticsearch's `template_<index>`).
    const caps = await client.fieldCaps({
      index: stream,
      fields: ['prediction.id', 'model.version', 'features.amount', 'features.country', 'severity'],
    });
    expect(Object.keys(caps.fields['prediction.id'] ?? {})).toEqual(['keyword']);
    expect(Object.keys(caps.fields['model.version'] ?? {})).toEqual(['keyword']);
    // The prediction template maps numeric features to double and the rest to keyword.
    expect(Object.keys(caps.fields['features.amount'] ?? {})).toEqual(['double']);
    expect(Object.keys(caps.fields['features.country'] ?? {})).toEqual(['keyword']);
    expect(caps.fields.severity).toBeUndefined();
    expect(await client.indices.existsIndexTemplate({ name: `template_${stream}` })).toBe(false);

    // Each document is exactly what mlmon's builder makes of the event (same id, same normalisation).
    const hit = await client.search<Record<string, unknown>>({
      index: stream,
      query: { term: { 'prediction.id': 'wes-7' } },
    });
    expect(hit.hits.hits).toHaveLength(1);
    const expected = predictionTransformer({ model, namespace: ns })({
      message: 'prediction',
      level: 'info',
      meta: event(7),
    });
    expect(hit.hits.hits[0]?._source).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(expected).toMatchObject({
      '@timestamp': '2026-01-10T00:07:00.000Z',
      prediction: { id: 'wes-7', label: '1', score: 0.7 },
      model: { name: 'bridge', version: '2' },
      features: { amount: 10.5, country: 'FR' },
      event: { kind: 'event', duration: 3_000_000 },
      data_stream: { type: 'logs', dataset: 'mlmon.prediction', namespace: ns },
    });
    // Every document carries the stream's data_stream fields: the namespace a dashboard control lists.
    const namespaces = await client.search({
      index: stream,
      size: 0,
      aggs: { ns: { terms: { field: 'data_stream.namespace' } } },
    });
    expect((namespaces.aggregations?.ns as { buckets: unknown[] }).buckets).toEqual([
      { key: ns, doc_count: 40 },
    ]);
    logger.close();
  });

  it('the transformer gives an entry without a usable id a UUIDv7 and tags bad values like the logger', () => {
    const transform = predictionTransformer({
      model,
      schema: { features: { amount: { type: 'numeric', min: 0 } } },
    });
    const doc = transform({
      message: 'prediction',
      level: 'info',
      timestamp: '2026-01-10T05:00:00.000Z',
      meta: { features: { amount: -4 }, prediction: { score: 0.2 } },
    }) as { '@timestamp': string; prediction: { id: string }; mlmon?: unknown };
    expect(doc['@timestamp']).toBe('2026-01-10T05:00:00.000Z'); // from winston's timestamp
    expect(doc.prediction.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // -4 is below the declared min 0: flagged, as mlmon's own logger does.
    expect(JSON.stringify(doc.mlmon)).toContain('amount');
  });
});
