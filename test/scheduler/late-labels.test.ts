/**
 * Issue 12, items 1 and 2, through the scheduler (the machinery of `mlmon schedule --once`):
 * - predictions logged with their `actual` are counted in full by the first pass, with the metrics
 *   a reference implementation computes from the raw rows (test/analyzer/reference-metrics.ts);
 * - labels that arrive after a window was done re-compute exactly the windows they belong to
 *   (counted), and nothing else;
 * - property: outcomes in random batches (new labels and corrections, delays up to the horizon),
 *   a pass after each batch; afterwards every window's stored performance equals a from-scratch
 *   computation, and is stored once.
 */
import fc from 'fast-check';
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { streamNames } from '../../src/schema/streams.js';
import { validateConfig, type MlmonConfig } from '../../src/schema/config.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { quietScheduler as scheduler } from '../helpers/scheduler.js';
import { bulkCreate, dropNamespace, seededRandom } from '../performance/fixtures.js';
import {
  binaryReference,
  binaryRows,
  type BinaryRow,
  expectBinaryReference,
  expectMulticlassReference,
  expectRegressionReference,
  multiclassRows,
  regressionRows,
  logPredictions,
} from '../analyzer/reference-metrics.js';

const HOUR = 3_600_000;

function config(namespace: string, models: Array<{ name: string; start: number }>): MlmonConfig {
  return validateConfig(
    {
      namespace,
      scheduler: { owner: 'late-labels', lockTtl: '60s' },
      models: models.map((m) => ({
        name: m.name,
        versions: ['1'],
        window: '1h',
        delay: '0s',
        start: new Date(m.start).toISOString(),
        jobs: ['performance'],
        performance: { positiveClass: '1', threshold: 0.5, labelHorizon: '2d' },
      })),
    },
    { env: {} },
  );
}

interface StoredPerformance {
  window: { start: string };
  segment?: unknown;
  performance: Record<string, unknown>;
}

/** The stored model-scope performance documents of a model, by window start. */
async function stored(client: Client, namespace: string, model: string) {
  const index = streamNames(namespace).performance;
  await client.indices.refresh({ index, ignore_unavailable: true });
  const response = await client.search<StoredPerformance>({
    index,
    size: 1000,
    ignore_unavailable: true,
    query: { term: { 'model.name': model } },
  });
  return response.hits.hits.map((h) => ({ id: h._id as string, source: h._source as StoredPerformance }));
}

/** An outcome document: the label of prediction `id` of `model`, arriving at `at`. */
function outcome(model: string, id: string, label: string, at = Date.now()) {
  return {
    document: {
      '@timestamp': new Date(at).toISOString(),
      prediction: { id },
      model: { name: model, version: '1' },
      actual: { label },
    },
  };
}

/**
 * The rows' predictions of `model` indexed without their labels (which arrive later as outcomes),
 * and a scheduler pass over that model alone, at the current time.
 */
async function unlabelledModel(
  client: Client,
  namespace: string,
  model: string,
  rows: BinaryRow[],
  start: number,
) {
  const unlabelled = rows.map((r) => ({ ...r, document: { ...r.document, actual: undefined } }));
  await bulkCreate(
    client,
    streamNames(namespace).prediction,
    unlabelled.map((r) => ({ id: r.document.prediction.id, document: r.document })),
  );
  const s = scheduler(client, config(namespace, [{ name: model, start }]));
  const modelConfig = s['options'].config.models[0]!;
  return { rows: unlabelled, pass: () => s.runModelPass(modelConfig, Date.now()) };
}

describe('the scheduler and labels', () => {
  const client = testClient();
  const namespace = uniqueNamespace('latelab');
  const models: string[] = [];

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await dropNamespace(client, namespace, models);
    await client.close();
  });

  it(
    'first pass after logging predictions with actual: all N, reference metrics (binary, multi-class, regression)',
    { timeout: 600_000 },
    async () => {
      const start = alignDown(Date.now(), HOUR) - 2 * HOUR;
      const bin = binaryRows(seededRandom(21), 1200, 'once-bin', start);
      const multi = multiclassRows(seededRandom(22), 900, 'once-multi', start);
      const reg = regressionRows(seededRandom(23), 900, 'once-reg', start);
      models.push('once-bin', 'once-multi', 'once-reg');
      await logPredictions(
        client,
        namespace,
        [...bin, ...multi, ...reg].map((r) => r.document),
      );
      const cfg = config(
        namespace,
        ['once-bin', 'once-multi', 'once-reg'].map((name) => ({ name, start })),
      );
      const summary = await scheduler(client, cfg).runDue();
      expect(summary.failed).toBe(0);
      const first = async (model: string) =>
        (await stored(client, namespace, model)).find((d) => Date.parse(d.source.window.start) === start)
          ?.source.performance as Record<string, number>;

      expectBinaryReference(await first('once-bin'), bin);
      expectMulticlassReference(await first('once-multi'), multi);
      expectRegressionReference(await first('once-reg'), reg);

      // A second pass has nothing to do: no window is due, no label changed.
      const again = await scheduler(client, cfg).runDue();
      expect(again).toMatchObject({ processed: 0, reprocessed: 0, failed: 0 });
    },
  );

  it('late labels re-compute exactly the windows they belong to', { timeout: 600_000 }, async () => {
    const model = 'late-count';
    models.push(model);
    const start = alignDown(Date.now(), HOUR) - 4 * HOUR;
    // 4 windows of 50 unlabelled predictions
    const { rows, pass } = await unlabelledModel(
      client,
      namespace,
      model,
      binaryRows(seededRandom(31), 200, model, start, 4 * HOUR),
      start,
    );

    const first = await pass();
    expect(first.reprocessed).toBe(0);
    const label = (i: number, value: string) => outcome(model, rows[i]!.document.prediction.id, value);
    // labels for predictions of windows 1 (rows 50..99) and 3 (rows 150..199) only
    const labelled = [
      ...Array.from({ length: 50 }, (_, k) => 50 + k),
      ...Array.from({ length: 50 }, (_, k) => 150 + k),
    ];
    await bulkCreate(
      client,
      streamNames(namespace).outcome,
      labelled.map((i) => label(i, String(rows[i]!.actual))),
    );
    const second = await pass();
    expect(second.reprocessed).toBe(2);
    expect(second.processed).toBe(0);
    expect(
      second.runs.filter((r) => r.outcome === 'reprocessed').map((r) => r.window.start.getTime()),
    ).toEqual([start + HOUR, start + 3 * HOUR]);
    const docs = await stored(client, namespace, model);
    const at = (k: number) =>
      docs.find((d) => Date.parse(d.source.window.start) === start + k * HOUR)?.source.performance;
    expect(at(0)?.count).toBe(0);
    expect(at(1)?.count).toBe(50);
    expect(at(1)?.accuracy).toBeCloseTo(binaryReference(rows.slice(50, 100)).accuracy, 12);
    expect(at(3)?.count).toBe(50);

    // Nothing new: nothing re-run.
    expect((await pass()).reprocessed).toBe(0);

    // One corrected label in window 3: that window alone.
    const flipped = rows[160]!.actual === 1 ? '0' : '1';
    await bulkCreate(client, streamNames(namespace).outcome, [label(160, flipped)]);
    const fourth = await pass();
    expect(
      fourth.runs.filter((r) => r.outcome === 'reprocessed').map((r) => r.window.start.getTime()),
    ).toEqual([start + 3 * HOUR]);
    const corrected = rows
      .slice(150, 200)
      .map((r, k) => (k === 10 ? { ...r, actual: Number(flipped) as 0 | 1 } : r));
    const after = (await stored(client, namespace, model)).find(
      (d) => Date.parse(d.source.window.start) === start + 3 * HOUR,
    );
    expect(after?.source.performance.accuracy).toBeCloseTo(binaryReference(corrected).accuracy, 12);
  });

  it(
    'property: after outcomes in random batches, every stored window equals a from-scratch computation, once',
    { timeout: 900_000 },
    async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          // per prediction (3 windows × 8): the batch its label arrives in (or never), and whether a
          // later batch corrects it
          fc.array(
            fc.record({ batch: fc.integer({ min: -1, max: 2 }), correctIn: fc.integer({ min: -1, max: 2 }) }),
            {
              minLength: 24,
              maxLength: 24,
            },
          ),
          fc.integer({ min: 1, max: 1_000_000 }),
          async (plan, seed) => {
            const model = `prop-${run++}`;
            models.push(model);
            const start = alignDown(Date.now(), HOUR) - 3 * HOUR;
            const { rows, pass: runPass } = await unlabelledModel(
              client,
              namespace,
              model,
              binaryRows(seededRandom(seed), 24, model, start, 3 * HOUR),
              start,
            );
            await runPass();
            const label = new Map<number, 0 | 1>();
            for (let batch = 0; batch <= 2; batch++) {
              const before = new Map(label);
              const outcomes: Array<{ document: Record<string, unknown> }> = [];
              const t = Date.now();
              plan.forEach((p, i) => {
                const row = rows[i]!;
                const push = (value: 0 | 1, offset: number) => {
                  label.set(i, value);
                  outcomes.push(outcome(model, row.document.prediction.id, String(value), t + offset));
                };
                if (p.batch === batch) push(row.actual, 0);
                if (p.batch !== -1 && p.correctIn >= p.batch && p.correctIn === batch)
                  push(row.actual === 1 ? 0 : 1, 1);
              });
              if (outcomes.length > 0) await bulkCreate(client, streamNames(namespace).outcome, outcomes);
              const touched = new Set<number>();
              for (const [i, v] of label) if (before.get(i) !== v) touched.add(Math.floor(i / 8));
              const pass = await runPass();
              const rerun = pass.runs
                .filter((r) => r.outcome === 'reprocessed')
                .map((r) => (r.window.start.getTime() - start) / HOUR);
              // exactly the windows whose labels changed in this batch
              expect(rerun).toEqual([...touched].sort());
            }
            const docs = await stored(client, namespace, model);
            for (let k = 0; k < 3; k++) {
              const window = { start: new Date(start + k * HOUR), end: new Date(start + (k + 1) * HOUR) };
              const inWindow = docs.filter(
                (d) => Date.parse(d.source.window.start) === window.start.getTime(),
              );
              expect(inWindow).toHaveLength(1);
              const fresh = await runPerformanceJob(client, {
                namespace,
                model,
                version: '1',
                task: 'binary',
                window,
                positiveClass: '1',
                threshold: 0.5,
                write: false,
              });
              // the same document, plus the stream's data_stream fields the writer adds
              expect(inWindow[0]?.source).toEqual({
                ...fresh.documents[0]?.document,
                data_stream: { type: 'metrics', dataset: 'mlmon.performance', namespace },
              });
              expect(inWindow[0]?.id).toBe(fresh.documents[0]?.id);
              // and against the rows: the labels that arrived, the last one winning
              const labelled = rows
                .map((r, i) => ({ ...r, i }))
                .filter((r) => Math.floor(r.i / 8) === k && label.has(r.i))
                .map((r) => ({ score: r.score, actual: label.get(r.i)! }));
              expect(inWindow[0]?.source.performance.count).toBe(labelled.length);
              if (labelled.length > 0)
                expect(inWindow[0]?.source.performance.accuracy).toBeCloseTo(
                  binaryReference(labelled).accuracy,
                  12,
                );
            }
          },
        ),
        { numRuns: 3, seed: 12 },
      );
    },
  );
});
