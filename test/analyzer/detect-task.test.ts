/**
 * The scheduler's performance job asks for the model's task once per window (detectTask). It must
 * not read the model's whole history to answer: on main (45d13bb) one `filters` aggregation counted
 * every prediction of the model, so the look-up grew with all the data written (the demo's
 * performance windows read 1,440 → 45,312 predictions each). Counted here from the responses
 * Elasticsearch sent: the documents the look-up's searches matched (`hits.total`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { detectTask } from '../../src/analyzer/run.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writePredictions } from '../performance/fixtures.js';

const client = testClient();
const namespace = uniqueNamespace('detecttask');
const t0 = Date.UTC(2026, 1, 1);

afterAll(async () => {
  await dropNamespace(client, namespace, ['scored', 'valued']);
  await client.close();
});

describe('detectTask', () => {
  it('answers from the first matching prediction per kind, not by counting every one', async () => {
    await installTemplates(client);
    const scored = Array.from({ length: 500 }, (_, i) => ({
      '@timestamp': new Date(t0 + i * 1000).toISOString(),
      model: { name: 'scored', version: '1' },
      prediction: { id: `s-${i}`, label: String(i % 2), score: (i % 100) / 100 },
    }));
    const valued = Array.from({ length: 20 }, (_, i) => ({
      '@timestamp': new Date(t0 + i * 1000).toISOString(),
      model: { name: 'valued', version: '1' },
      prediction: { id: `v-${i}`, value: i / 2 },
    }));
    await writePredictions(client, namespace, [...scored, ...valued]);
    // The documents each search of the look-up matched, from the responses as received.
    const matched: number[] = [];
    const onResponse = (
      _: unknown,
      r: { body?: unknown; meta: { request: { params: { path: string } } } } | null,
    ) => {
      if (!r?.meta.request.params.path.endsWith('/_search')) return;
      const total = (r.body as { hits?: { total?: { value?: number } | number } }).hits?.total;
      matched.push(typeof total === 'number' ? total : (total?.value ?? 0));
    };
    client.diagnostic.on('response', onResponse);
    try {
      expect(await detectTask(client, namespace, 'scored')).toBe('binary');
      // One stream, one shard: at most one document per kind (value: none; score, label: one each),
      // where main's aggregation matched all 500.
      expect(matched.length).toBeGreaterThan(0);
      expect(matched.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2);
      matched.length = 0;
      // The precedence is main's: a value makes a regression even with labels or scores elsewhere.
      expect(await detectTask(client, namespace, 'valued')).toBe('regression');
      expect(matched.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
      expect(await detectTask(client, namespace)).toBe('regression');
      expect(await detectTask(client, namespace, 'absent')).toBeUndefined();
      expect(await detectTask(client, `${namespace}none`, 'scored')).toBeUndefined();
    } finally {
      client.diagnostic.off('response', onResponse);
    }
  });
});
