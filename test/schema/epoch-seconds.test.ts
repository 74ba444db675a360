/**
 * Issue 28 item 5: a numeric timestamp that can only be epoch seconds (Python's `time.time()`) is
 * read as seconds, with `mlmon.quality.epoch_seconds`, by the logger and by the collector alike
 * (both go through schema/time.ts `readTime`), on real Elasticsearch. Expected instants:
 * 1767225600 s is 2026-01-01T00:00:00Z (20,454 days since 1970: 56 years incl. 14 leap days, × 86,400
 * s); .123 s adds 123 ms. 1767225600000 is the same instant as milliseconds (above the 1e11 cut).
 * Runs under the host zone America/New_York as CI's other time tests do (numbers have no zone: the
 * result must not move).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../../src/collector/server.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { TemplateDowngradeError } from '../../src/elastic/templates.js';
import { timeOf } from '../../src/schema/normalize.js';
import { EPOCH_SECONDS_BELOW, readTime } from '../../src/schema/time.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { ensureTemplates, tempSpoolDir } from '../logger/helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents read back as JSON
type Doc = Record<string, any>;

const NEW_YEAR_2026 = 20_454 * 86_400_000;
const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const quiet = { onWarning: () => {} };
let savedTz: string | undefined;

const events = (prefix: string) => [
  { id: `${prefix}-s`, timestamp: 1767225600, features: { x: 1 }, prediction: { value: 1 } },
  { id: `${prefix}-f`, timestamp: 1767225600.123, features: { x: 2 }, prediction: { value: 2 } },
  { id: `${prefix}-ms`, timestamp: 1767225600000, features: { x: 3 }, prediction: { value: 3 } },
];

async function readBack(ns: string, prefix: string): Promise<Map<string, Doc>> {
  const index = `logs-mlmon.prediction-${ns}`;
  await client.indices.refresh({ index });
  const r = await client.search({ index, size: 10, query: { prefix: { 'prediction.id': prefix } } });
  return new Map(r.hits.hits.map((h) => [(h._source as Doc).prediction.id as string, h._source as Doc]));
}

function expectSeconds(docs: Map<string, Doc>, prefix: string): void {
  expect(docs.size).toBe(3);
  expect(docs.get(`${prefix}-s`)?.['@timestamp']).toBe('2026-01-01T00:00:00.000Z');
  expect(docs.get(`${prefix}-s`)?.mlmon?.quality?.epoch_seconds).toEqual(['@timestamp']);
  expect(docs.get(`${prefix}-f`)?.['@timestamp']).toBe('2026-01-01T00:00:00.123Z');
  expect(docs.get(`${prefix}-f`)?.mlmon?.quality?.epoch_seconds).toEqual(['@timestamp']);
  expect(docs.get(`${prefix}-ms`)?.['@timestamp']).toBe('2026-01-01T00:00:00.000Z');
  expect(docs.get(`${prefix}-ms`)?.mlmon?.quality).toBeUndefined();
}

beforeAll(async () => {
  savedTz = process.env.TZ;
  process.env.TZ = 'America/New_York';
  await ensureTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
}, 60_000);

afterAll(async () => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
  await client.close();
});

describe('epoch seconds', () => {
  it('the one reading: below 1e11 is seconds, above it milliseconds', () => {
    expect(new Date(NEW_YEAR_2026).getTimezoneOffset()).toBe(300); // the zone really is New York
    expect(EPOCH_SECONDS_BELOW).toBe(1e11);
    expect(readTime(1767225600)).toEqual({ ms: NEW_YEAR_2026, seconds: true });
    expect(readTime(1767225600.123)).toEqual({ ms: NEW_YEAR_2026 + 123, seconds: true });
    expect(readTime(NEW_YEAR_2026)).toEqual({ ms: NEW_YEAR_2026, seconds: false });
    expect(timeOf(1767225600)).toBe(NEW_YEAR_2026);
    // Years before 1901 are in range (0001-01-01 is −62,135,596,800,000 ms).
    expect(timeOf(new Date('1850-06-01T00:00:00Z'))).toBe(Date.parse('1850-06-01T00:00:00Z'));
    expect(timeOf(-62_135_596_800_000)).toBe(-62_135_596_800_000);
  });

  it('the logger stores time.time() as 2026, with mlmon.quality.epoch_seconds', async () => {
    const ns = uniqueNamespace('epochlog');
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'epoch', version: '1' },
      spool: false,
      ...quiet,
    });
    for (const e of events('log')) logger.logPrediction(e);
    expect(await logger.flush(60_000)).toBe(true);
    await logger.close();
    expectSeconds(await readBack(ns, 'log'), 'log');
  }, 90_000);

  it('the collector stores time.time() as 2026, with mlmon.quality.epoch_seconds', async () => {
    const ns = uniqueNamespace('epochcol');
    const collector: Collector = await startCollector({
      port: 0,
      models: ['epoch'],
      logger: {
        node: esUrl(),
        namespace: ns,
        model: { name: 'epoch', version: '1' },
        spool: { dir: tempSpoolDir('epochcol') },
        ...quiet,
      },
    });
    try {
      const response = await fetch(`${collector.url}/v1/predictions`, {
        method: 'POST',
        body: JSON.stringify(events('col')),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as Doc).indexed).toBe(3);
    } finally {
      await collector.close();
    }
    expectSeconds(await readBack(ns, 'col'), 'col');
  }, 90_000);
});
