/**
 * Delayed labels end to end on a real Elasticsearch: predictions at t, outcomes two windows later;
 * the window's metrics appear once the labels are joined, coverage goes 0 → ½ → 1, re-running the
 * join and the job writes no duplicate, a corrected label replaces the first one, an outcome that
 * arrives before its prediction waits, and an actual logged with the prediction yields to an outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { joinCheckpointId, runJoin, type EvaluationDocument } from '../../src/analyzer/join.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { streamNames } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { documentsOf, dropNamespace, seededRandom, writeOutcomes, writePredictions } from './fixtures.js';

const T0 = Date.parse('2026-04-06T00:00:00Z');
const HOUR = 3_600_000;
const windowAt = (k: number) => ({ start: new Date(T0 + k * HOUR), end: new Date(T0 + (k + 1) * HOUR) });

interface Row {
  id: string;
  time: number;
  score: number;
  actual: '0' | '1';
}

describe('delayed labels', () => {
  const client = testClient();
  const ns = uniqueNamespace('perfd');
  const streams = streamNames(ns);
  const model = 'late';
  const random = seededRandom(11);
  const rows: Row[] = Array.from({ length: 400 }, (_, i) => {
    const score = random();
    return { id: `late-${i}`, time: T0 + i * 9000, score, actual: random() < score ? '1' : '0' };
  });
  const job = (k: number) =>
    runPerformanceJob(client, { namespace: ns, model, task: 'binary', window: windowAt(k), refresh: true });
  const outcome = (id: string, label: string, time: number) => ({
    '@timestamp': new Date(time).toISOString(),
    prediction: { id },
    model: { name: model, version: '1' },
    actual: { label },
  });
  const accuracyOf = (labelled: Row[]) =>
    labelled.filter((r) => (r.score >= 0.5 ? '1' : '0') === r.actual).length / labelled.length;
  const performanceDocs = () =>
    documentsOf<{ window: { start: string }; performance: Record<string, unknown> }>(
      client,
      streams.performance,
    );

  beforeAll(async () => {
    await installTemplates(client);
    await writePredictions(
      client,
      ns,
      rows.map((r) => ({
        '@timestamp': new Date(r.time).toISOString(),
        prediction: { id: r.id, label: r.score >= 0.5 ? '1' : '0', score: r.score },
        model: { name: model, version: '1' },
      })),
    );
  });
  afterAll(async () => {
    await dropNamespace(client, ns, [model]);
    await client.close();
  });

  it('metrics appear once labels arrive, coverage rises, re-runs never duplicate', async () => {
    // t: predictions only. The window has an estimate but no realised metric, coverage 0.
    const nothing = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(nothing.created).toBe(0);
    const first = await job(0);
    const perf0 = first.documents[0]?.document.performance as Record<string, unknown>;
    expect(perf0.count).toBe(0);
    expect(perf0.label_coverage).toBe(0);
    expect(perf0.accuracy).toBeUndefined();
    expect((perf0.estimated as { accuracy: number }).accuracy).toBeGreaterThan(0.5);

    // t + 2 windows: outcomes of half the predictions.
    const half = rows.slice(0, 200);
    await writeOutcomes(
      client,
      ns,
      half.map((r) => outcome(r.id, r.actual, r.time + 2 * HOUR)),
    );
    const joinedHalf = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(joinedHalf).toMatchObject({ outcomesRead: 200, created: 200, pending: 0 });
    const second = await job(0);
    const perfHalf = second.documents[0]?.document.performance as Record<string, unknown>;
    expect(perfHalf.count).toBe(200);
    expect(perfHalf.label_coverage).toBe(0.5);
    expect(perfHalf.accuracy).toBe(accuracyOf(half));
    expect(second.written).toMatchObject({ created: 0, updated: 1 });

    // The rest arrive later still.
    await writeOutcomes(
      client,
      ns,
      rows.slice(200).map((r) => outcome(r.id, r.actual, r.time + 2.5 * HOUR)),
    );
    await runJoin(client, { namespace: ns, model, refresh: true });
    const third = await job(0);
    const perfFull = third.documents[0]?.document.performance as Record<string, unknown>;
    expect(perfFull.count).toBe(400);
    expect(perfFull.label_coverage).toBe(1);
    expect(perfFull.accuracy).toBe(accuracyOf(rows));
    // estimate and realised side by side in one document
    expect(typeof (perfFull.estimated as { accuracy: unknown }).accuracy).toBe('number');

    // Re-running changes nothing and adds nothing.
    const again = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(again.created + again.updated).toBe(0);
    expect((await job(0)).written).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
    const stored = await performanceDocs();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.source.performance.label_coverage).toBe(1);
    expect(
      (await client.count({ index: streams.evaluation, query: { term: { 'model.name': model } } })).count,
    ).toBe(400);

    // The checkpoint is in mlmon-state.
    const state = await client.get<{ state: { job: string; checkpoint: string } }>({
      index: 'mlmon-state',
      id: joinCheckpointId(ns, model),
    });
    expect(state._source?.state.job).toBe('join');
    expect(state._source?.state.checkpoint).toBe(new Date(rows[399]!.time + 2.5 * HOUR).toISOString());
  });

  it('a corrected label replaces the first one, in the window of the prediction', async () => {
    const target = rows[10]!;
    const corrected = target.actual === '1' ? '0' : '1';
    await writeOutcomes(client, ns, [outcome(target.id, corrected, T0 + 5 * HOUR)]);
    const joined = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(joined).toMatchObject({ created: 0, updated: 1 });
    const evaluation = await documentsOf<EvaluationDocument>(client, streams.evaluation, {
      ids: { values: [target.id] },
    });
    expect(evaluation).toHaveLength(1);
    expect(evaluation[0]?.source.actual.label).toBe(corrected);
    expect(evaluation[0]?.source['@timestamp']).toBe(new Date(target.time).toISOString());
    const perf = (await job(0)).documents[0]?.document.performance as Record<string, unknown>;
    const now = rows.map((r) => (r === target ? { ...r, actual: corrected as '0' | '1' } : r));
    expect(perf.accuracy).toBe(accuracyOf(now));
    expect(perf.count).toBe(400);
  });

  it('an outcome before its prediction waits; an old pending one expires', async () => {
    await writeOutcomes(client, ns, [
      outcome('early-bird', '1', T0 + 6 * HOUR),
      outcome('never-logged', '0', T0 + 6 * HOUR),
    ]);
    const waiting = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(waiting).toMatchObject({ pending: 2, created: 0, pendingResolved: 0 });

    await writePredictions(client, ns, [
      {
        '@timestamp': new Date(T0 + HOUR + 60_000).toISOString(),
        prediction: { id: 'early-bird', label: '1', score: 0.9 },
        model: { name: model, version: '1' },
      },
    ]);
    const resolved = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(resolved).toMatchObject({ pendingResolved: 1, pending: 1, created: 1 });
    const perf1 = (await job(1)).documents[0]?.document.performance as Record<string, unknown>;
    expect(perf1).toMatchObject({ count: 1, label_coverage: 1, accuracy: 1 });

    const later = await runJoin(client, {
      namespace: ns,
      model,
      now: new Date(Date.now() + 8 * 86_400_000),
    });
    expect(later).toMatchObject({ pendingExpired: 1, pending: 0 });
  });

  it('an actual logged with the prediction counts, and yields to a later outcome', async () => {
    const at = T0 + 2 * HOUR + 1000;
    await writePredictions(client, ns, [
      {
        '@timestamp': new Date(at).toISOString(),
        prediction: { id: 'with-actual', label: '1', score: 0.8 },
        model: { name: model, version: '1' },
        actual: { label: '1' },
      },
      {
        '@timestamp': new Date(at + 1000).toISOString(),
        prediction: { id: 'overruled', label: '1', score: 0.8 },
        model: { name: model, version: '1' },
        actual: { label: '1' },
      },
    ]);
    await writeOutcomes(client, ns, [outcome('overruled', '0', T0 + 7 * HOUR)]);
    const joined = await runJoin(client, { namespace: ns, model, refresh: true });
    expect(joined.predictionsWithActualRead).toBe(2);
    expect(joined.supersededByOutcome).toBe(1);
    const rescan = await runJoin(client, { namespace: ns, model, rescan: true, refresh: true });
    expect(rescan.created + rescan.updated).toBe(0);
    const evaluation = await documentsOf<EvaluationDocument>(client, streams.evaluation, {
      ids: { values: ['with-actual', 'overruled'] },
    });
    const byId = Object.fromEntries(evaluation.map((e) => [e.id, e.source]));
    expect(byId['with-actual']?.eval).toMatchObject({ source: 'prediction', correct: 1 });
    expect(byId['overruled']?.eval).toMatchObject({ source: 'outcome', correct: 0 });
    expect(byId['overruled']?.actual.label).toBe('0');
    const perf2 = (await job(2)).documents[0]?.document.performance as Record<string, unknown>;
    expect(perf2).toMatchObject({ count: 2, label_coverage: 1, accuracy: 0.5 });
  });
});
