import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { upsertIntoDataStream } from '../../src/elastic/upsert.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

describe('upsert into a data stream by deterministic id', () => {
  const client = testClient();
  const stream = `metrics-mlmon.drift-${uniqueNamespace('upsert')}`;
  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await client.indices.deleteDataStream({ name: stream }).catch(() => undefined);
    await client.close();
  });

  const doc = (score: number) => ({
    '@timestamp': '2026-01-01T01:00:00Z',
    model: { name: 'm', version: '1' },
    feature: { name: 'x', kind: 'numeric' },
    drift: { score },
  });

  it('creates, leaves unchanged, replaces in place, across a rollover, never duplicates', async () => {
    const first = await upsertIntoDataStream(client, stream, [
      { id: 'a', document: doc(0.1) },
      { id: 'b', document: doc(0.2) },
    ]);
    expect(first).toEqual({ created: 2, updated: 0, unchanged: 0, failed: [] });

    const same = await upsertIntoDataStream(client, stream, [{ id: 'a', document: doc(0.1) }]);
    expect(same).toEqual({ created: 0, updated: 0, unchanged: 1, failed: [] });

    // After a rollover the document lives in an older backing index; it must be replaced there.
    await client.indices.rollover({ alias: stream });
    const changed = await upsertIntoDataStream(
      client,
      stream,
      [
        { id: 'a', document: doc(0.9) },
        { id: 'c', document: doc(0.3) },
      ],
      { refresh: true },
    );
    expect(changed).toEqual({ created: 1, updated: 1, unchanged: 0, failed: [] });

    const all = await client.search<{ drift: { score: number } }>({
      index: stream,
      size: 100,
      query: { match_all: {} },
    });
    expect(all.hits.hits.map((h) => [h._id, h._source?.drift.score]).sort()).toEqual([
      ['a', 0.9],
      ['b', 0.2],
      ['c', 0.3],
    ]);
  });

  it('two writers of the same ids at once still leave exactly one document per id', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const write = (score: number) =>
      upsertIntoDataStream(
        client,
        stream,
        ids.map((id) => ({ id, document: doc(score) })),
      );
    const [r1, r2] = await Promise.all([write(0.5), write(0.5)]);
    expect(r1.failed).toEqual([]);
    expect(r2.failed).toEqual([]);
    expect(r1.created + r2.created).toBe(50);
    await client.indices.refresh({ index: stream });
    const count = await client.count({ index: stream, query: { ids: { values: ids } } });
    expect(count.count).toBe(50);
  });
});
