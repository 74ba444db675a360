/**
 * Issue 28 item 1 and issue 29 item 4, on a real Elasticsearch, outcomes written by the real logger:
 * - labels that arrive with an older `@timestamp` than outcomes already joined (a late labelling
 *   batch, a spool replayed after an outage) are still joined: the join keys on when the outcome
 *   reached Elasticsearch (`event.ingested`), not on the event's own time;
 * - an outcome that names no model (the collector's documented example) is joined to its
 *   prediction by id within the namespace.
 * Expected numbers: label_coverage = labelled predictions ÷ predictions in the window
 * (analyzer/performance.ts), so 500 of 1,000 = 0.5, 1,000 of 1,000 = 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJoin } from '../../src/analyzer/join.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { streamNames } from '../../src/schema/streams.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writePredictions } from '../performance/fixtures.js';

const HOUR = 3_600_000;
const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;

/** 1,000 binary predictions of `model` spread over [start, start + 1 h), ids `${model}-i`. */
function predictions(model: string, start: number) {
  return Array.from({ length: 1000 }, (_, i) => ({
    '@timestamp': new Date(start + i * 3600).toISOString(),
    prediction: { id: `${model}-${i}`, score: i % 2 ? 0.8 : 0.2, label: i % 2 ? '1' : '0' },
    model: { name: model, version: '1' },
    features: { x: i },
  }));
}

/** Logs the outcomes of predictions [from, to) through the logger, all stamped `at`. */
async function logOutcomes(
  namespace: string,
  model: string | undefined,
  from: number,
  to: number,
  at: number,
) {
  const logger = createPredictionLogger({
    node: esUrl(),
    namespace,
    ...(model ? { model: { name: model, version: '1' } } : {}),
    onWarning: () => undefined,
  });
  for (let i = from; i < to; i++)
    logger.logOutcome({
      id: `${model ?? 'nomodel'}-${i}`,
      actual: { label: i % 2 ? '1' : '0' },
      timestamp: new Date(at),
    });
  expect(await logger.flush(60_000)).toBe(true);
  await logger.close();
  await client.indices.refresh({ index: streamNames(namespace).outcome });
}

async function coverage(namespace: string, model: string, start: number): Promise<number | null> {
  await runJoin(client, { namespace, model });
  const result = await runPerformanceJob(client, {
    namespace,
    model,
    window: { start: new Date(start), end: new Date(start + HOUR) },
    task: 'binary',
    positiveClass: '1',
    threshold: 0.5,
    write: false,
  });
  const doc = result.documents.find((d) => d.document.segment === undefined)?.document;
  return (doc?.performance as { label_coverage?: number | null } | undefined)?.label_coverage ?? null;
}

describe('the join keys on arrival, and finds outcomes by id', () => {
  const namespace = uniqueNamespace('lateout');
  const models = ['lateout', 'nomodel'];

  beforeAll(() => installTemplates(client));
  afterAll(() => dropNamespace(client, namespace, models).finally(() => client.close()));

  it(
    'outcomes stamped before ones already joined are joined on the next run',
    { timeout: 300_000 },
    async () => {
      const start = alignDown(Date.now(), HOUR) - 4 * HOUR;
      await writePredictions(client, namespace, predictions('lateout', start));
      // Half the labels, stamped 30 min after the hour; the join's checkpoint moves to then.
      await logOutcomes(namespace, 'lateout', 0, 500, start + HOUR + 30 * 60_000);
      expect(await coverage(namespace, 'lateout', start)).toBe(0.5);
      // The other half arrives later but carries an older time: 15 min into the hour (75 min before
      // the checkpoint, beyond main's 1 h overlap).
      await logOutcomes(namespace, 'lateout', 500, 1000, start + 15 * 60_000);
      expect(await coverage(namespace, 'lateout', start)).toBe(1);
    },
  );

  it('an outcome that names no model is joined to its prediction by id', { timeout: 300_000 }, async () => {
    const start = alignDown(Date.now(), HOUR) - 4 * HOUR;
    await writePredictions(client, namespace, predictions('nomodel', start));
    await logOutcomes(namespace, undefined, 0, 1000, start + HOUR);
    expect(await coverage(namespace, 'nomodel', start)).toBe(1);
  });
});
