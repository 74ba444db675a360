/**
 * One bulk round trip (src/logger/bulk-round-trip.ts) against the real Elasticsearch, without the
 * shipper's flush loop: each kind of answer lands in its bucket. The refusals are real ones: a
 * document already there (409 on create), a document the mapping rejects (400), a stream under
 * `index.blocks.write` (403 cluster_block_exception: passes, so retried — as test/logger/held.test.ts
 * uses it), a name no data stream template matches (`require_data_stream`: 404, held for `mlmon
 * setup`), a re-send found by the look-up (never sent again), and a cluster that does not answer.
 */
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkRoundTrip, type BulkDocument } from '../../src/logger/bulk-round-trip.js';
import { destinationOf, logStream, pairsIndex } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { ensureTemplates } from './helpers.js';

const client = testClient();

beforeAll(async () => {
  await ensureTemplates(client);
});

afterAll(async () => {
  await client.close();
});

const now = () => new Date().toISOString();
/** A document for `index` with an `event` object (as every mlmon document has). */
function item(index: string, id: string, extra: Record<string, unknown> = {}, resend = false): BulkDocument {
  const doc = JSON.stringify({ '@timestamp': now(), event: { kind: 'event' }, prediction: { id }, ...extra });
  return { index, id, doc, destination: destinationOf(index), resend };
}
const ids = (items: readonly BulkDocument[]) => items.map((i) => i.id).sort();

describe('bulkRoundTrip', () => {
  it('sorts one batch into stored, conflicts, retry, held and dead-letter, on a real cluster', async () => {
    const ns = uniqueNamespace('roundtrip');
    const predictions = logStream('prediction', ns);
    const outcomes = logStream('outcome', ns);
    // A document already in the stream (the 409), and one a re-send will find by its look-up.
    await client.create({ index: predictions, id: 'there', document: { '@timestamp': now() } });
    await client.create({ index: predictions, id: 'found', document: { '@timestamp': now() } });
    // The outcome stream exists and is write-blocked: a real 403 from Elasticsearch.
    await client.create({ index: outcomes, id: 'first', document: { '@timestamp': now() } });
    await client.indices.putSettings({ index: outcomes, settings: { 'index.blocks.write': true } });
    try {
      const batch = [
        item(predictions, 'good'),
        item(predictions, 'there'),
        item(predictions, 'found', {}, true),
        item(predictions, 'resent', {}, true),
        // `@timestamp` is a date in the template: the mapping rejects this document.
        item(predictions, 'bad', { '@timestamp': 'not a date' }),
        item(outcomes, 'blocked'),
        // No template makes `logs-nostream.*` a data stream: refused under require_data_stream.
        item(`logs-nostream-${ns}`, 'nostream'),
      ];
      const verdicts = await bulkRoundTrip(client, batch, { requestTimeoutMs: 30_000 });
      expect(verdicts).toBeDefined();
      if (!verdicts) return;
      expect(ids(verdicts.stored)).toEqual(['good', 'resent']);
      // 'there': a 409 on create; 'found': the look-up found it, so it was not sent again.
      expect(ids(verdicts.conflicts)).toEqual(['found', 'there']);
      expect(verdicts.retry.map((r) => [r.item.id, r.status])).toEqual([['blocked', 403]]);
      expect(verdicts.held.map((h) => [h.item.id, h.why])).toEqual([['nostream', 'no-stream']]);
      expect(verdicts.held[0]?.detail).toMatch(/^404 /);
      expect(verdicts.deadLetter.map((d) => [d.item.id, d.reason.status])).toEqual([['bad', 400]]);
      expect(verdicts.deadLetter[0]?.reason.type).toBe('document_parsing_exception');
      expect(verdicts.failed).toBeUndefined();
      expect(verdicts.lookupRefused).toBeUndefined();
      // What Elasticsearch holds: the stored ones once each, the refused ones not at all.
      await client.indices.refresh({ index: predictions });
      const found = await client.search<{ prediction?: { id?: string } }>({ index: predictions, size: 100 });
      expect(found.hits.hits.map((h) => h._id).sort()).toEqual(['found', 'good', 'resent', 'there']);
      expect(await client.indices.exists({ index: `logs-nostream-${ns}` })).toBe(false);
    } finally {
      await client.indices.putSettings({ index: outcomes, settings: { 'index.blocks.write': false } });
    }
  });

  it('a batch with a pair half goes without require_data_stream: the pairs index is a regular index', async () => {
    const ns = uniqueNamespace('roundtrip');
    const pairs = pairsIndex(ns);
    expect(destinationOf(pairs)).toBe('index');
    expect(destinationOf(logStream('prediction', ns))).toBe('data-stream');
    const verdicts = await bulkRoundTrip(
      client,
      [item(pairs, 'k.request'), item(logStream('prediction', ns), 'p1')],
      { requestTimeoutMs: 30_000 },
    );
    expect(verdicts && ids(verdicts.stored)).toEqual(['k.request', 'p1']);
    // The prediction stream is a data stream (its backing index is .ds-…); the pairs index is not.
    const backing = Object.keys(await client.indices.get({ index: logStream('prediction', ns) }));
    expect(backing).toHaveLength(1);
    expect(backing[0]).toMatch(/^\.ds-/);
    expect(Object.keys(await client.indices.get({ index: pairs }))).toEqual([pairs]);
  });

  it('no answer: every document is in `failed`, none has a verdict; a cancelled trip returns nothing', async () => {
    const down = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0 });
    try {
      const batch = [item('logs-mlmon.prediction-x', 'a'), item('logs-mlmon.prediction-x', 'b', {}, true)];
      const verdicts = await bulkRoundTrip(down, batch, { requestTimeoutMs: 5000 });
      expect(verdicts?.failed?.items.map((i) => i.id)).toEqual(['a', 'b']);
      expect(verdicts?.failed?.error).toBeInstanceOf(Error);
      expect(verdicts?.stored.length ?? -1).toBe(0);
      expect(
        await bulkRoundTrip(down, batch, { requestTimeoutMs: 5000, cancelled: () => true }),
      ).toBeUndefined();
    } finally {
      await down.close();
    }
  });
});
