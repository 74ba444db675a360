/**
 * Delivery against the real Elasticsearch: partial failures, per-item retries, dead letters, the
 * spool (overflow, cap, next start), the winston transport and monitor().
 */
import { readdirSync } from 'node:fs';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLogger, monitor, MlmonTransport } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countDocs, countsById, ensureTemplates, sleep, tempSpoolDir } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents read back from Elasticsearch
type Doc = Record<string, any>;

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const quiet = { onWarning: () => {} };

beforeAll(async () => {
  await ensureTemplates(client);
});

afterAll(async () => {
  await client.close();
});

function event(i: number, extra: Record<string, unknown> = {}) {
  return {
    features: { amount: i * 1.5, country: i % 2 ? 'de' : 'fr', ...extra },
    prediction: { label: String(i % 2), score: (i % 10) / 10 },
    latencyMs: 1 + (i % 5),
  };
}

describe('partial failure', () => {
  it('stores the successes once, dead-letters the 400s with reasons, and retries none of them', async () => {
    const ns = uniqueNamespace('partial');
    // A stricter template for this namespace only: features.strict_int is an integer that rejects
    // malformed values, so an item with a string there fails with a 400 while the others succeed.
    await client.indices.putIndexTemplate({
      name: `test-strict-${ns}`,
      index_patterns: [`logs-mlmon.prediction-${ns}`],
      data_stream: {},
      priority: 500,
      composed_of: ['mlmon@settings', 'mlmon@ecs', 'mlmon-prediction@mappings'],
      template: {
        mappings: {
          properties: {
            features: {
              type: 'object',
              subobjects: false,
              properties: { strict_int: { type: 'integer', ignore_malformed: false } },
            },
          },
        },
      },
    });
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'partial', version: '1' },
      spool: { dir: tempSpoolDir('partial') },
      flushIntervalMs: 60_000, // one bulk request, sent by flush()
      ...quiet,
    });
    const good: string[] = [];
    const bad: string[] = [];
    for (let i = 0; i < 100; i++) {
      const isBad = i % 5 === 0;
      const id = logger.logPrediction(event(i, { strict_int: isBad ? 'not-a-number' : i }));
      (isBad ? bad : good).push(id);
    }
    expect(await logger.flush()).toBe(true);
    const counters = await logger.close();
    expect(counters).toMatchObject({ accepted: 100, indexed: 80, deadLettered: 20, retried: 0, dropped: 0 });

    const stored = await countsById(client, `logs-mlmon.prediction-${ns}`);
    expect(compareIds(good, stored)).toEqual({ missing: [], duplicated: [], unexpected: [] });

    const dlIndex = `logs-mlmon.deadletter-${ns}`;
    const dead = await countsById(client, dlIndex);
    expect(compareIds(bad, dead)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    const letters = await client.search<Doc>({ index: dlIndex, size: 100 });
    expect(letters.hits.hits).toHaveLength(20);
    for (const hit of letters.hits.hits) {
      const doc = hit._source!;
      expect(doc.error.type).toBe('document_parsing_exception');
      expect(doc.error.status).toBe(400);
      expect(doc.error.message).toContain('strict_int');
      expect(doc.deadletter).toEqual({ target: `logs-mlmon.prediction-${ns}`, stage: 'index' });
      const original = JSON.parse(doc.event.original);
      expect(original.prediction.id).toBe(doc.prediction.id);
      expect(original.features.strict_int).toBe('not-a-number');
      expect(doc.model).toEqual({ name: 'partial', version: '1' });
    }
    await client.indices.deleteIndexTemplate({ name: `test-strict-${ns}` });
  });
});

describe('per-item retry', () => {
  it('retries only the items that got 429, with backoff, and stores each once', async () => {
    const ns = uniqueNamespace('retry');
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'retry' },
      spool: { dir: tempSpoolDir('retry') },
      flushIntervalMs: 100,
      retryBaseMs: 50,
      retryMaxMs: 200,
      ...quiet,
    });
    // Create both streams, then block writes to the prediction stream's backing index: Elasticsearch
    // answers 429 (cluster_block_exception, flood-stage watermark) for those items only.
    const warm = logger.logPrediction(event(0));
    logger.logOutcome({ id: warm, actual: { label: '0' } });
    expect(await logger.flush()).toBe(true);
    const predictions = `logs-mlmon.prediction-${ns}`;
    await client.indices.putSettings({
      index: predictions,
      settings: { 'index.blocks.read_only_allow_delete': true },
    });

    const ids: string[] = [warm];
    for (let i = 1; i <= 50; i++) {
      const id = logger.logPrediction(event(i));
      ids.push(id);
      logger.logOutcome({ id, actual: { label: String(i % 2) } });
    }
    // Wait until every blocked item has been retried at least twice (not a timing assertion: we poll).
    for (let t = 0; t < 200 && logger.counters.retried < 100; t++) await sleep(50);
    expect(logger.counters.retried).toBeGreaterThanOrEqual(100);
    // The outcomes went through in the same requests and were never re-sent.
    expect(logger.counters.indexed).toBe(2 + 50);
    await client.indices.putSettings({
      index: predictions,
      settings: { 'index.blocks.read_only_allow_delete': null },
    });
    expect(await logger.flush()).toBe(true);
    const counters = await logger.close();
    expect(counters).toMatchObject({
      accepted: 102,
      indexed: 102,
      deadLettered: 0,
      dropped: 0,
      conflicts: 0,
    });
    expect(compareIds(ids, await countsById(client, predictions))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect(await countDocs(client, `logs-mlmon.outcome-${ns}`)).toBe(51);
  });
});

describe('spool', () => {
  it('spills a full buffer to disk and replays it, each document once', async () => {
    const ns = uniqueNamespace('overflow');
    const dir = tempSpoolDir('overflow');
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'overflow' },
      spool: { dir, fileMaxBytes: 64 * 1024 },
      bufferMaxBytes: 128 * 1024,
      batchMaxBytes: 64 * 1024,
      ...quiet,
    });
    const ids: string[] = [];
    // A synchronous burst: the event loop does not turn, so the buffer can only overflow to disk.
    for (let i = 0; i < 20_000; i++) ids.push(logger.logPrediction(event(i)));
    expect(logger.counters.spooled).toBeGreaterThan(0);
    expect(await logger.flush(60_000)).toBe(true);
    const counters = await logger.close();
    expect(counters).toMatchObject({ accepted: 20_000, indexed: 20_000, dropped: 0, deadLettered: 0 });
    expect(compareIds(ids, await countsById(client, `logs-mlmon.prediction-${ns}`))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps what it cannot send for the next logger, which delivers it once', async () => {
    const ns = uniqueNamespace('nextstart');
    const dir = tempSpoolDir('nextstart');
    // Nothing listens on port 1: every request fails to connect.
    const down = createPredictionLogger({
      node: 'http://127.0.0.1:1',
      namespace: ns,
      model: { name: 'nextstart' },
      spool: { dir },
      closeTimeoutMs: 2000,
      ...quiet,
    });
    const ids = Array.from({ length: 500 }, (_, i) => down.logPrediction(event(i)));
    const first = await down.close();
    expect(first).toMatchObject({ accepted: 500, indexed: 0, spooled: 500, dropped: 0 });
    expect(readdirSync(dir).some((f) => f.endsWith('.ndjson'))).toBe(true);

    const up = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'nextstart' },
      spool: { dir },
      ...quiet,
    });
    expect(await up.flush()).toBe(true);
    const second = await up.close();
    expect(second).toMatchObject({ accepted: 0, recovered: 500, indexed: 500, dropped: 0 });
    expect(compareIds(ids, await countsById(client, `logs-mlmon.prediction-${ns}`))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('drops and counts beyond the spool cap, with one warning per interval', async () => {
    const warnings: string[] = [];
    const logger = createPredictionLogger({
      node: 'http://127.0.0.1:1',
      namespace: uniqueNamespace('cap'),
      model: { name: 'cap' },
      spool: { dir: tempSpoolDir('cap'), maxBytes: 100 * 1024 },
      bufferMaxBytes: 32 * 1024,
      closeTimeoutMs: 1000,
      onWarning: (m) => warnings.push(m),
    });
    for (let i = 0; i < 3000; i++) logger.logPrediction(event(i));
    const counters = await logger.close();
    expect(counters.accepted).toBe(3000);
    expect(counters.dropped).toBeGreaterThan(0);
    expect(counters.spooled).toBeGreaterThan(0);
    expect(counters.spooled + counters.dropped).toBe(3000);
    expect(warnings.filter((w) => w.includes('dropped'))).toHaveLength(1);
  });
});

describe('winston and monitor()', () => {
  it('takes predictions and outcomes through a winston logger and ignores ordinary lines', async () => {
    const ns = uniqueNamespace('winston');
    const transport = new MlmonTransport({
      node: esUrl(),
      namespace: ns,
      model: { name: 'wl', version: '2' },
      spool: { dir: tempSpoolDir('winston') },
      ...quiet,
    });
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('service started');
    logger.info('scored', { id: 'w-1', features: { a: 1 }, prediction: { label: 'yes', score: 0.7 } });
    logger.info('truth', { mlmon: 'outcome', id: 'w-1', actual: { label: 'no' } });
    logger.warn('slow request', { ms: 900 });
    expect(await transport.flush()).toBe(true);
    const counters = await transport.close();
    expect(counters).toMatchObject({ accepted: 2, indexed: 2 });
    await client.indices.refresh({ index: `logs-mlmon.*-${ns}` });
    const found = await client.search<Doc>({
      index: `logs-mlmon.prediction-${ns}`,
      query: { ids: { values: ['w-1'] } },
    });
    expect(found.hits.hits[0]?._source).toMatchObject({
      message: 'scored',
      prediction: { id: 'w-1', label: 'yes', score: 0.7 },
      model: { name: 'wl', version: '2' },
      features: { a: 1 },
    });
    const outcome = await client.search<Doc>({ index: `logs-mlmon.outcome-${ns}` });
    expect(outcome.hits.hits.map((h) => h._source)).toMatchObject([
      { prediction: { id: 'w-1' }, actual: { label: 'no' } },
    ]);
  });

  it('monitor() times calls and logs inputs, outputs and errors, passing results and errors through', async () => {
    const ns = uniqueNamespace('monitor');
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'mon' },
      spool: { dir: tempSpoolDir('monitor') },
      ...quiet,
    });
    const predict = monitor(logger, (x: { amount: number }) => {
      if (x.amount < 0) throw new RangeError('negative amount');
      return { label: x.amount > 10 ? 'high' : 'low', score: Math.min(1, x.amount / 20) };
    });
    const slow = logger.monitor(async (x: { amount: number }) => {
      await sleep(20);
      return x.amount * 2;
    });
    expect(predict({ amount: 15 })).toEqual({ label: 'high', score: 0.75 });
    expect(() => predict({ amount: -1 })).toThrow(RangeError);
    expect(await slow({ amount: 4 })).toBe(8);
    expect(await logger.flush()).toBe(true);
    await logger.close();
    const index = `logs-mlmon.prediction-${ns}`;
    await client.indices.refresh({ index });
    const hits = (await client.search<Doc>({ index, size: 10 })).hits.hits;
    const docs = hits.map((h) => h._source!).sort((a, b) => a.features.amount - b.features.amount);
    expect(docs).toHaveLength(3);
    expect(docs[0]).toMatchObject({
      features: { amount: -1 },
      error: { type: 'RangeError', message: 'negative amount' },
      event: { outcome: 'failure' },
    });
    expect(docs[1]).toMatchObject({ features: { amount: 4 }, prediction: { value: 8 } });
    expect(docs[1]?.event.duration).toBeGreaterThanOrEqual(15_000_000);
    expect(docs[2]).toMatchObject({ features: { amount: 15 }, prediction: { label: 'high', score: 0.75 } });
  });
});
