/**
 * `mlmon demo` end to end on a slice of ELEC2 against the real Elasticsearch: every row logged
 * once, outcomes joined, and the Victoria columns (constant for the first 17,424 rows) flagged
 * from the week they start to vary. The weekly windows are anchored at the first row (a Tuesday).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

describe('mlmon demo', () => {
  const client = testClient();
  const namespace = uniqueNamespace('demo');
  // The demo finds its cluster the way a user's shell would: through ES_URL.
  beforeAll(() => {
    process.env.ES_URL = inject('esUrl');
  });
  afterAll(async () => {
    await client.indices.deleteDataStream({ name: `*-mlmon.*-${namespace}` }).catch(() => undefined);
    await client.close();
  });

  it('replays 20,000 rows and flags vicprice/vicdemand (feat_4/feat_5) from the week of row 17,424', async () => {
    let out = '';
    let err = '';
    const io = {
      stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream,
    };
    const code = await run(['demo', '--rows', '20000', '--namespace', namespace, '--format', 'json'], io);
    expect(err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(out) as {
      rows: number;
      counters: { accepted: number; indexed: number; deadLettered: number; dropped: number };
      streams: Record<string, number>;
      summary: { windows: number; features: Array<{ name: string; drifted: number; first?: string }> };
    };
    expect(summary.rows).toBe(20_000);
    expect(summary.counters).toMatchObject({
      accepted: 40_000,
      indexed: 40_000,
      deadLettered: 0,
      dropped: 0,
    });
    expect(summary.streams[`logs-mlmon.prediction-${namespace}`]).toBe(20_000);
    expect(summary.streams[`logs-mlmon.outcome-${namespace}`]).toBe(20_000);
    // Rows 1344 … 19999 in weeks from 1996-06-04: 55 full weeks and a partial 56th.
    expect(summary.summary.windows).toBe(56);
    const feature = (name: string) => summary.summary.features.find((f) => f.name === name);
    // Row 17,424 is 1997-05-05 (a Monday); its week starts Tuesday 1997-04-29.
    expect(feature('vicprice')?.first).toBe('1997-04-29');
    expect(feature('vicdemand')?.first).toBe('1997-04-29');
    // feat_1 is the period of the day: the same uniform grid every week, never drifting.
    expect(feature('period')?.drifted).toBe(0);
  });
});
