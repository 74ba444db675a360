/**
 * Refusals the operator fixes (issue 25, item 3), on a real write block: Elasticsearch answers
 * every item 403 cluster_block_exception, dead letters too. Per-item retries are bounded
 * (MAX_ITEM_ATTEMPTS); then the documents are held in the spool, never counted as indexed,
 * dead-lettered or dropped, with one line saying what is wrong; flush() and close() say they are
 * not delivered. Once the block is lifted, a logger on the spool delivers each exactly once. On
 * main the items were retried in memory for ever (nothing reached the spool).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyBulkItem } from '../../src/logger/bulk-item.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import type { OutcomeEvent } from '../../src/schema/prediction.js';
import { MAX_ITEM_ATTEMPTS } from '../../src/logger/shipper.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates, sleep, tempSpoolDir } from './helpers.js';

const client = testClient();

beforeAll(async () => {
  await ensureTemplates(client);
});

afterAll(async () => {
  await client.close();
});

describe('a refusal the operator must fix', () => {
  it('a write block on the stream and on the dead letters: bounded retries, then held in the spool; delivered once lifted', async () => {
    const ns = uniqueNamespace('held');
    const predictions = `logs-mlmon.prediction-${ns}`;
    const deadLetters = `logs-mlmon.deadletter-${ns}`;
    // The streams exist (one document each, without a prediction id) before the block goes on.
    for (const index of [predictions, deadLetters])
      await client.index({ index, op_type: 'create', document: { '@timestamp': new Date().toISOString() } });
    const block = (on: boolean) =>
      client.indices.putSettings({
        index: `${predictions},${deadLetters}`,
        settings: { 'index.blocks.write': on },
      });
    await block(true);
    const dir = tempSpoolDir('held');
    const warnings: string[] = [];
    const options = {
      node: client,
      namespace: ns,
      model: { name: 'held' },
      spool: { dir },
      retryBaseMs: 50,
      retryMaxMs: 200,
      flushIntervalMs: 50,
      onWarning: (m: string) => warnings.push(m),
    };
    const logger = createPredictionLogger(options);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(logger.logPrediction({ features: { i }, prediction: { value: i } }));
    // No prediction id: each becomes a dead letter, which meets the block too.
    for (let i = 0; i < 5; i++) logger.logOutcome({ actual: { label: String(i) } } as OutcomeEvent);
    const shipper = logger.transport.core.shipper;
    for (let t = 0; t < 300 && logger.counters.spooled < 25; t++) await sleep(100);
    expect(shipper.pendingInMemory).toBe(0);
    expect(logger.counters).toMatchObject({ spooled: 25, indexed: 0, deadLettered: 0, dropped: 0 });
    // Every document was tried MAX_ITEM_ATTEMPTS times before it was held: 7 retries each, or more.
    expect(logger.counters.retried).toBeGreaterThanOrEqual(25 * (MAX_ITEM_ATTEMPTS - 1));
    const held = warnings.filter((w) => w.includes(`still refused after ${MAX_ITEM_ATTEMPTS} attempts`));
    expect(held.some((w) => w.includes(predictions) && w.includes(dir))).toBe(true);
    expect(held.every((w) => !w.includes('\n'))).toBe(true);
    expect(await logger.flush(1500)).toBe(false);
    expect(await logger.close({ timeoutMs: 500 })).toMatchObject({ pending: 25, indexed: 0, dropped: 0 });

    await block(false);
    const again = createPredictionLogger({ ...options, onWarning: () => {} });
    expect(await again.flush(60_000)).toBe(true);
    expect(await again.close()).toMatchObject({ recovered: 25, indexed: 20, deadLettered: 5, pending: 0 });
    expect(compareIds(ids, await countsById(client, predictions))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    await client.indices.refresh({ index: deadLetters });
    expect((await client.count({ index: deadLetters })).count).toBe(5 + 1);
  }, 120_000);

  it('a 403 for missing privileges is held, not dead-lettered (the item a key without create_doc gets)', () => {
    // The shape Elasticsearch's security answers with (AuthorizationService's denial message).
    const item = {
      create: {
        status: 403,
        error: {
          type: 'security_exception',
          reason:
            'action [indices:data/write/bulk[s]] is unauthorized for API key id [k] of user [svc] on indices ' +
            '[logs-mlmon.prediction-default], this action is granted by the index privileges [create_doc,create,index,write,all]',
        },
      },
    };
    const outcome = classifyBulkItem(item);
    expect(outcome).toMatchObject({ kind: 'hold', why: 'forbidden' });
    expect(outcome.kind === 'hold' && outcome.detail).toContain('index privileges [create_doc');
  });
});
