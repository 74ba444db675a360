/**
 * The join reads what arrived since its last run, not everything within its overlap (the demo's
 * quadratic slowdown: every scheduler pass re-read all outcomes written in the last real hour). On a
 * real Elasticsearch, outcomes written with their `event.ingested` stamp as the logger sets it.
 * Expected counts: `outcomesRead` is the number of outcomes the run read (one per prediction here),
 * so a run after 900 joined outcomes and 50 new ones reads 50; main read 950 (all stamped within
 * its 1 h overlap). A late batch stamped inside the overlap (before the checkpoint) is still joined:
 * the overlap's count changed, so it is re-read once (1,000 outcomes then).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJoin } from '../../src/analyzer/join.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { streamNames } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writeOutcomes, writePredictions } from '../performance/fixtures.js';

const MINUTE = 60_000;
const client = testClient();
const namespace = uniqueNamespace('joinincr');
const model = 'incr';
const start = Date.now() - 3 * 3_600_000;

/** Outcomes of predictions [from, to), stamped as sent at `ingested` (epoch ms). */
function outcomes(from: number, to: number, ingested: number) {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return {
      '@timestamp': new Date(start + 3_600_000).toISOString(),
      event: { ingested: new Date(ingested).toISOString() },
      prediction: { id: `p-${i}` },
      model: { name: model, version: '1' },
      actual: { label: i % 2 ? '1' : '0' },
    };
  });
}

describe('the join reads O(new) documents per run', () => {
  beforeAll(async () => {
    await installTemplates(client);
    await writePredictions(
      client,
      namespace,
      Array.from({ length: 1000 }, (_, i) => ({
        '@timestamp': new Date(start + i * 1000).toISOString(),
        prediction: { id: `p-${i}`, score: i % 3 ? 0.8 : 0.2, label: i % 3 ? '1' : '0' },
        model: { name: model, version: '1' },
      })),
    );
  });
  afterAll(() => dropNamespace(client, namespace, [model]).finally(() => client.close()));

  it('reads only what arrived since, and re-reads the overlap once when a late batch lands in it', async () => {
    const now = Date.now();
    await writeOutcomes(client, namespace, outcomes(0, 900, now - 20 * MINUTE));
    const first = await runJoin(client, { namespace, model });
    expect([first.outcomesRead, first.created]).toEqual([900, 900]);

    await writeOutcomes(client, namespace, outcomes(900, 950, now - MINUTE));
    const second = await runJoin(client, { namespace, model });
    // main: 950 read (every outcome stamped within the hour before the checkpoint), 50 created.
    expect([second.outcomesRead, second.documentsRead, second.created, second.overlapRereads]).toEqual([
      50, 50, 50, 0,
    ]);

    const idle = await runJoin(client, { namespace, model });
    expect([idle.documentsRead, idle.created, idle.overlapRereads]).toEqual([0, 0, 0]);

    // A batch stamped 30 min before the checkpoint that only now became searchable (a slow bulk
    // request, a clock behind): inside the overlap, so still joined.
    await writeOutcomes(client, namespace, outcomes(950, 1000, now - 30 * MINUTE));
    const late = await runJoin(client, { namespace, model });
    expect([late.overlapRereads, late.outcomesRead, late.created, late.unchanged]).toEqual([
      1, 1000, 50, 950,
    ]);

    const evaluations = await client.count({ index: streamNames(namespace).evaluation });
    expect(evaluations.count).toBe(1000);
    const after = await runJoin(client, { namespace, model });
    expect([after.overlapRereads, after.documentsRead]).toEqual([0, 0]);
  }, 300_000);
});
