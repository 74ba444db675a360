/**
 * The look-up before a re-send (src/logger/resend-check.ts) against the real Elasticsearch: a
 * document stored a moment ago (no refresh) is found, and so is one stored before a rollover, in
 * the older backing index, where `_id` + `create` alone would not see it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { alreadyStored, MGET_MAX_DOCS, storedKey } from '../../src/logger/resend-check.js';
import { logStream } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { ensureTemplates } from './helpers.js';

const client = testClient();
const ns = uniqueNamespace('resend');
const stream = logStream('prediction', ns);
const options = { requestTimeoutMs: 30_000 };

async function create(id: string): Promise<void> {
  await client.create({
    index: stream,
    id,
    document: { '@timestamp': new Date().toISOString(), model: { name: 'resend' }, prediction: { id } },
  });
}

afterAll(async () => {
  await client.indices.deleteDataStream({ name: stream }).catch(() => undefined);
  await client.close();
});

describe('alreadyStored', () => {
  it('finds a document written a moment ago and one in a backing index before a rollover', async () => {
    await ensureTemplates(client);
    // A stream that does not exist yet holds nothing (and the look-up does not create it).
    expect(await alreadyStored(client, [{ index: stream, id: 'before' }], options)).toEqual(new Set());

    await create('before');
    // No refresh: the multi-get is real-time.
    expect(await alreadyStored(client, [{ index: stream, id: 'before' }], options)).toEqual(
      new Set([storedKey(stream, 'before')]),
    );

    await client.indices.rollover({ alias: stream });
    await create('after');
    const backing = (await client.indices.resolveIndex({ name: stream })).data_streams?.[0]?.backing_indices;
    expect(Array.isArray(backing) ? backing.length : 1).toBe(2);

    const found = await alreadyStored(
      client,
      ['before', 'after', 'never'].map((id) => ({ index: stream, id })),
      options,
    );
    expect(found).toEqual(new Set([storedKey(stream, 'before'), storedKey(stream, 'after')]));
  });

  it('splits the look-up into multi-gets of at most MGET_MAX_DOCS and still finds every id', async () => {
    // Two backing indices (from the test above): MGET_MAX_DOCS / 2 ids per request, so this many ids
    // take three requests; "before" and "after" sit at the two ends.
    const ids = ['before', ...Array.from({ length: MGET_MAX_DOCS + 10 }, (_, i) => `missing-${i}`), 'after'];
    const found = await alreadyStored(
      client,
      ids.map((id) => ({ index: stream, id })),
      options,
    );
    expect(found).toEqual(new Set([storedKey(stream, 'before'), storedKey(stream, 'after')]));
  });
});
