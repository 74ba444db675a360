/**
 * `buildBaseline` (what `mlmon baseline --from --to` and the demo run) against a real Elasticsearch:
 * predictions and their outcomes are written WITHOUT a refresh, and the baseline built right after
 * must join them and store the calibration they justify (the first run sees the writes).
 *
 * Expected map: the hand-worked PAV example of test/stats/calibration.test.ts (scores 0.1…0.6 with
 * labels 0 1 0 0 1 1 → knots 0.1→0, 0.2→⅓, 0.4→⅓, 0.5→1, 0.6→1), each point repeated 40 times
 * (240 labelled predictions; repeating every point leaves the PAV solution unchanged: the pooled
 * means are the same weighted means).
 */
import type { Client } from '@elastic/elasticsearch';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { buildBaseline } from '../../src/analyzer/baseline.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { MIN_CALIBRATION_LABELS } from '../../src/profiles/calibration.js';
import { getBaseline, listBaselines } from '../../src/profiles/store.js';
import { BASELINES_INDEX, streamNames } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropBaselines, dropNamespace } from '../performance/fixtures.js';

const HAND_SCORES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
const HAND_LABELS = [0, 1, 0, 0, 1, 1];
const T0 = Date.parse('2026-03-02T00:00:00Z');

/** `copies` predictions per hand point, with outcomes a minute later; written without a refresh. */
async function logHandPoints(client: Client, namespace: string, model: string, copies: number) {
  const streams = streamNames(namespace);
  const operations: unknown[] = [];
  const outcomes: unknown[] = [];
  let k = 0;
  for (const [j, score] of HAND_SCORES.entries()) {
    for (let c = 0; c < copies; c++, k++) {
      const id = `${model}-${k}`;
      const at = new Date(T0 + k * 1000).toISOString();
      operations.push(
        { create: { _index: streams.prediction, _id: id } },
        {
          '@timestamp': at,
          model: { name: model, version: '1' },
          prediction: { id, score, label: score >= 0.5 ? '1' : '0' },
          features: { x: j + c / copies },
        },
      );
      outcomes.push(
        { create: { _index: streams.outcome } },
        {
          '@timestamp': new Date(T0 + k * 1000 + 60_000).toISOString(),
          model: { name: model },
          prediction: { id },
          actual: { label: String(HAND_LABELS[j]) },
        },
      );
    }
  }
  for (const body of [operations, outcomes]) {
    const r = await client.bulk({ operations: body as never });
    expect(r.errors).toBe(false);
  }
  return k;
}

describe('buildBaseline: the reference calibration stored with the baseline', () => {
  const client = testClient();
  const namespace = uniqueNamespace('basecal');
  const models = ['hand', 'few', 'off'];

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await dropBaselines(client, namespace, models);
    await dropNamespace(client, namespace, models);
    await client.close();
  });

  const window = { from: new Date(T0), to: new Date(T0 + 3_600_000) };

  it('joins the just-logged outcomes and stores the hand-worked isotonic map', async () => {
    const n = await logHandPoints(client, namespace, 'hand', 40);
    expect(n).toBe(240);
    const built = await buildBaseline(client, {
      namespace,
      model: 'hand',
      version: '1',
      id: namespace,
      ...window,
    });
    expect(built.join.created).toBe(240);
    expect(built.calibration.method).toBe('isotonic');
    const stored = await getBaseline(client, { model: 'hand', version: '1', id: namespace, namespace });
    const map = stored?.profile.calibration;
    expect(map?.count).toBe(240);
    expect(map?.positives).toBe(120);
    expect(map?.probabilities).toHaveLength(5);
    [0, 1 / 3, 1 / 3, 1, 1].forEach((p, i) => expect(map?.probabilities[i]).toBeCloseTo(p, 12));
    // the bin means of 40 equal scores: the score itself up to rounding in the sum
    [0.1, 0.2, 0.4, 0.5, 0.6].forEach((x, i) => expect(map?.scores[i]).toBeCloseTo(x, 12));
    expect(stored?.profile.uncalibrated).toBeUndefined();
    // indexed for listing (mappings v2): found by a term query on the summary
    const hits = await client.search({
      index: BASELINES_INDEX,
      query: {
        bool: {
          filter: [
            { term: { 'model.name': 'hand' } },
            { term: { 'baseline.id': namespace } },
            { term: { 'baseline.calibration.method': 'isotonic' } },
            { term: { 'baseline.calibration.knots': 5 } },
          ],
        },
      },
    });
    expect(hits.hits.hits).toHaveLength(1);
    const listed = (await listBaselines(client, { model: 'hand' })).find((b) => b.id === namespace);
    expect(listed?.calibration).toEqual({ method: 'isotonic', labelled: 240, positives: 120, knots: 5 });
  });

  it(`fewer than ${MIN_CALIBRATION_LABELS} labels: no map, the reason stored and indexed`, async () => {
    // 6 × 25 = 150 labelled predictions, below the minimum of 200
    await logHandPoints(client, namespace, 'few', 25);
    const built = await buildBaseline(client, {
      namespace,
      model: 'few',
      version: '1',
      id: namespace,
      ...window,
    });
    expect(built.calibration).toMatchObject({ method: 'none', reason: 'too_few_labels', labelled: 150 });
    const stored = await getBaseline(client, { model: 'few', version: '1', id: namespace, namespace });
    expect(stored?.profile.calibration).toBeUndefined();
    expect(stored?.profile.uncalibrated).toMatchObject({ reason: 'too_few_labels', labelled: 150 });
    expect(stored?.profile.uncalibrated?.message).toMatch(
      /150 labelled reference predictions .* fewer than the 200 .* raw scores/,
    );
    const hits = await client.search({
      index: BASELINES_INDEX,
      query: {
        bool: {
          filter: [
            { term: { 'baseline.id': namespace } },
            { term: { 'baseline.calibration.reason': 'too_few_labels' } },
          ],
        },
      },
    });
    expect(hits.hits.hits.map((h) => (h._source as { model: { name: string } }).model.name)).toEqual(['few']);
  });

  it('calibration none: no map even with enough labels', async () => {
    await logHandPoints(client, namespace, 'off', 40);
    const built = await buildBaseline(client, {
      namespace,
      model: 'off',
      version: '1',
      id: namespace,
      calibration: 'none',
      ...window,
    });
    expect(built.calibration).toMatchObject({ method: 'none', reason: 'disabled' });
    const stored = await getBaseline(client, { model: 'off', version: '1', id: namespace, namespace });
    expect(stored?.profile.calibration).toBeUndefined();
    expect(stored?.profile.uncalibrated?.reason).toBe('disabled');
  });

  it('the CLI says it: mlmon baseline prints why there is no map, mlmon analyze notes raw scores', async () => {
    process.env.ES_URL ??= inject('esUrl');
    const capture = () => {
      const chunks: string[] = [];
      const stream = new Writable({
        write(chunk, _enc, done) {
          chunks.push(String(chunk));
          done();
        },
      });
      return { stream, text: () => chunks.join('') };
    };
    const out = capture();
    const err = capture();
    const io = { stdout: out.stream, stderr: err.stream };
    const range = ['--from', window.from.toISOString(), '--to', window.to.toISOString()];
    // 'few' has 150 labelled predictions (logged by the test above)
    const common = ['--model', 'few', '--version', '1', '--namespace', namespace];
    expect(await run(['baseline', ...common, ...range, '--id', namespace, '--replace'], io)).toBe(0);
    expect(out.text()).toMatch(
      /score calibration: none \(150 labelled reference predictions with a score, fewer than the 200 a calibration needs/,
    );
    expect(
      await run(['analyze', ...common, ...range, '--window', '1h', '--baseline', namespace, '--dry-run'], io),
    ).toBe(0);
    expect(err.text()).toMatch(
      /note: estimated performance from raw scores for version 1: 150 labelled reference predictions/,
    );
  });
});
