/**
 * Issue 28 item 7, on a real Elasticsearch: outcomes waiting for their prediction are not kept in
 * one checkpoint document. On main 20,000 pending outcomes made the checkpoint document
 * `join:{ns}:{model}` 2,269,151 bytes (seen on 45d13bb; ~113 bytes each, rewritten by every run; 100,000 allowed); now
 * each waits in its own small document and the checkpoint stays under 2 KB (its fixed fields). All
 * 20,000 join once their predictions arrive, and their documents are deleted then.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinCheckpointId, runJoin } from '../../src/analyzer/join.js';
import { PENDING_OUTCOME_KIND } from '../../src/analyzer/join-pending.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { STATE_INDEX, streamNames } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writeOutcomes, writePredictions } from '../performance/fixtures.js';

const N = 20_000;
const client = testClient();
const namespace = uniqueNamespace('joinpend');
const model = 'pend';
const job = joinCheckpointId(namespace, model);
const start = Date.now() - 3 * 3_600_000;

/** Bytes of the checkpoint document's source as stored. */
async function checkpointBytes(): Promise<number> {
  const doc = await client.get({ index: STATE_INDEX, id: job });
  return JSON.stringify(doc._source).length;
}

async function pendingDocuments(): Promise<number> {
  await client.indices.refresh({ index: STATE_INDEX });
  const query = {
    bool: { filter: [{ term: { 'state.kind': PENDING_OUTCOME_KIND } }, { term: { 'state.job': job } }] },
  };
  return (await client.count({ index: STATE_INDEX, query })).count;
}

describe('pending outcomes live in documents of their own', () => {
  beforeAll(() => installTemplates(client));
  afterAll(() => dropNamespace(client, namespace, [model]).finally(() => client.close()));

  it(`${N} outcomes wait without growing the checkpoint, and all join when their predictions arrive`, async () => {
    await writeOutcomes(
      client,
      namespace,
      Array.from({ length: N }, (_, i) => ({
        '@timestamp': new Date(start + 3_600_000).toISOString(),
        event: { ingested: new Date().toISOString() },
        prediction: { id: `q-${i}` },
        model: { name: model, version: '1' },
        actual: { label: i % 2 ? '1' : '0' },
      })),
    );
    const waiting = await runJoin(client, { namespace, model });
    expect([waiting.outcomesRead, waiting.pending, waiting.created]).toEqual([N, N, 0]);
    // main: 2,269,151 bytes (the list of 20,000 in the checkpoint).
    expect(await checkpointBytes()).toBeLessThan(2000);
    expect(await pendingDocuments()).toBe(N);

    // A run with nothing new keeps them (and rewrites none: unchanged documents are left alone).
    const again = await runJoin(client, { namespace, model });
    expect([again.pending, again.pendingResolved, again.outcomesRead]).toEqual([N, 0, 0]);

    await writePredictions(
      client,
      namespace,
      Array.from({ length: N }, (_, i) => ({
        '@timestamp': new Date(start + i * 100).toISOString(),
        prediction: { id: `q-${i}`, score: 0.7, label: '1' },
        model: { name: model, version: '1' },
      })),
    );
    const joined = await runJoin(client, { namespace, model });
    expect([joined.pendingResolved, joined.created, joined.pending]).toEqual([N, N, 0]);
    expect(await pendingDocuments()).toBe(0);
    expect((await client.count({ index: streamNames(namespace).evaluation })).count).toBe(N);
    expect(await checkpointBytes()).toBeLessThan(2000);
  }, 600_000);
});
