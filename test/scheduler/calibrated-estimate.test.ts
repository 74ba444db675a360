/**
 * The scheduler's performance job estimates through the calibration stored with the model's
 * baseline, and the result documents of its FIRST pass after the writes say whether the estimate
 * can be trusted (predictions, outcomes and the baseline are written without a refresh before each
 * pass).
 *
 * 1. Hand-worked: the baseline's map is the PAV example of test/stats/calibration.test.ts (knots
 *    0.1→0, 0.2→⅓, 0.4→⅓, 0.5→1, 0.6→1); a window of 100 predictions each at 0.15, 0.3 and 0.55 is
 *    then estimated at (5/6 + 2/3 + 1) / 3 = 0.8333… (0.15 → ⅙ by interpolation, predicted negative,
 *    right with 5/6; 0.3 → ⅓, right with 2/3; 0.55 → 1, predicted positive), where raw scores give
 *    (0.85 + 0.7 + 0.55) / 3 = 0.7. Its labels then arrive, all positive: realised accuracy 1/3
 *    (only the 0.55 predictions are right), 300 actual positives against 150 expected — the next
 *    pass re-runs the window and marks the estimate unreliable (accuracy_outside_band,
 *    calibration_shift).
 * 2. Real numbers: ELEC2 as the demo replays it (logistic regression fitted on the first 4 weeks,
 *    the baseline those weeks), the weeks of 1998 Q1 with their labels. Expected values computed
 *    here from the CSV: realised accuracy counted per week, the estimate as Σ P(right) over 0.001
 *    score bins with a map fitted by the small PAV below (not the one in src/). Every week is marked
 *    unreliable: realised ~0.59 against an estimate above 0.9.
 */
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseline } from '../../src/analyzer/baseline.js';
import { readLabelledCsv } from '../../src/cli/demo/dataset.js';
import { DEMO_DATASETS, demoDataPath, demoDataset, withFeatureNames } from '../../src/cli/demo/datasets.js';
import { fitLogistic, predictProbability } from '../../src/cli/demo/logistic.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { validateConfig, type MlmonConfig } from '../../src/schema/config.js';
import { streamNames } from '../../src/schema/streams.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { quietScheduler as scheduler } from '../helpers/scheduler.js';
import type { EstimatedFields } from '../performance/calibrated-estimate.js';
import { dropBaselines, dropNamespace } from '../performance/fixtures.js';

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

type Estimated = EstimatedFields;
interface StoredPerformance {
  window: { start: string };
  performance: { scope: string; count: number; accuracy?: number; estimated?: Estimated };
}

function config(
  namespace: string,
  model: { name: string; window: string; start: number; calibration: 'isotonic' | 'none' },
): MlmonConfig {
  return validateConfig(
    {
      namespace,
      scheduler: { owner: 'calibrated-estimate', lockTtl: '60s', maxCatchUp: 100 },
      models: [
        {
          name: model.name,
          versions: ['1'],
          window: model.window,
          delay: '0s',
          start: new Date(model.start).toISOString(),
          baseline: namespace,
          jobs: ['performance'],
          performance: {
            positiveClass: '1',
            threshold: 0.5,
            labelHorizon: '365d',
            calibration: model.calibration,
          },
        },
      ],
    },
    { env: {} },
  );
}

/** The stored model-scope performance documents of a model, by window start (epoch ms). */
async function stored(client: Client, namespace: string, model: string) {
  const index = streamNames(namespace).performance;
  await client.indices.refresh({ index, ignore_unavailable: true });
  const response = await client.search<StoredPerformance>({
    index,
    size: 1000,
    ignore_unavailable: true,
    query: {
      bool: { filter: [{ term: { 'model.name': model } }, { term: { 'performance.scope': 'model' } }] },
    },
  });
  return new Map(
    response.hits.hits.map((h) => {
      const s = h._source as StoredPerformance;
      return [Date.parse(s.window.start), s.performance] as const;
    }),
  );
}

/** Bulk writes without a refresh: the pass that follows must make them visible itself. */
async function write(client: Client, operations: unknown[]): Promise<void> {
  for (let i = 0; i < operations.length; i += 10_000) {
    const r = await client.bulk({ operations: operations.slice(i, i + 10_000) as never, refresh: false });
    if (r.errors) throw new Error(JSON.stringify(r.items.find((it) => it.create?.error)?.create?.error));
  }
}

function prediction(namespace: string, model: string, id: string, at: number, score: number, features = {}) {
  return [
    { create: { _index: streamNames(namespace).prediction, _id: id } },
    {
      '@timestamp': new Date(at).toISOString(),
      model: { name: model, version: '1' },
      prediction: { id, score, label: score >= 0.5 ? '1' : '0' },
      features,
    },
  ];
}

function outcome(namespace: string, model: string, id: string, at: number, label: number) {
  return [
    { create: { _index: streamNames(namespace).outcome } },
    {
      '@timestamp': new Date(at).toISOString(),
      model: { name: model },
      prediction: { id },
      actual: { label: String(label) },
    },
  ];
}

/** Independent pool-adjacent-violators over (x, count, positives) sorted by x: fitted P per point. */
function pav(points: Array<{ x: number; n: number; pos: number }>): number[] {
  const blocks = points.map((p) => ({ sum: p.pos, n: p.n, size: 1 }));
  let i = 0;
  while (i < blocks.length - 1) {
    const a = blocks[i]!;
    const b = blocks[i + 1]!;
    if (a.sum / a.n > b.sum / b.n) {
      blocks.splice(i, 2, { sum: a.sum + b.sum, n: a.n + b.n, size: a.size + b.size });
      if (i > 0) i--;
    } else i++;
  }
  return blocks.flatMap((b) => Array<number>(b.size).fill(b.sum / b.n));
}

describe('the scheduler estimates with the baseline calibration and marks failed estimates', () => {
  const client = testClient();
  const namespace = uniqueNamespace('calsched');
  const models = ['hand-iso', 'hand-raw', 'elec-q1'];

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await dropBaselines(client, namespace, models);
    await dropNamespace(client, namespace, models);
    await client.close();
  });

  it(
    'hand-worked map: first pass estimates 0.8333 (raw 0.7); labels that contradict it mark it unreliable',
    {
      timeout: 300_000,
    },
    async () => {
      const window = alignDown(Date.now(), HOUR) - HOUR;
      const reference = window - 2 * HOUR;
      const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
      const labels = [0, 1, 0, 0, 1, 1];
      for (const model of ['hand-iso', 'hand-raw']) {
        const ops: unknown[] = [];
        let k = 0;
        for (const [j, s] of scores.entries())
          for (let c = 0; c < 40; c++, k++) {
            ops.push(...prediction(namespace, model, `${model}-r${k}`, reference + k * 1000, s, { x: j }));
            ops.push(...outcome(namespace, model, `${model}-r${k}`, reference + HOUR, labels[j]!));
          }
        for (const [j, s] of [0.15, 0.3, 0.55].entries())
          for (let c = 0; c < 100; c++)
            ops.push(
              ...prediction(namespace, model, `${model}-w${j}-${c}`, window + (j * 100 + c) * 1000, s, {
                x: j,
              }),
            );
        await write(client, ops);
        const built = await buildBaseline(client, {
          namespace,
          model,
          version: '1',
          id: namespace,
          from: new Date(reference),
          to: new Date(reference + HOUR),
          replace: true,
        });
        expect(built.calibration.method).toBe('isotonic');
      }

      const iso = config(namespace, {
        name: 'hand-iso',
        window: '1h',
        start: window,
        calibration: 'isotonic',
      });
      const raw = config(namespace, { name: 'hand-raw', window: '1h', start: window, calibration: 'none' });
      expect((await scheduler(client, iso).runDue()).failed).toBe(0);
      expect((await scheduler(client, raw).runDue()).failed).toBe(0);
      const first = (await stored(client, namespace, 'hand-iso')).get(window);
      expect(first?.count).toBe(0);
      expect(first?.estimated?.calibrated).toBe(true);
      expect(first?.estimated?.accuracy).toBeCloseTo((5 / 6 + 2 / 3 + 1) / 3, 9);
      // standard error sqrt(100·(⅙·⅚) + 100·(⅓·⅔) + 100·0) / 300, band ± 3 of them
      const se = Math.sqrt(100 * (5 / 36) + 100 * (2 / 9)) / 300;
      expect(first?.estimated?.accuracy_lower).toBeCloseTo((5 / 6 + 2 / 3 + 1) / 3 - 3 * se, 9);
      expect(first?.estimated?.reliable).toBeUndefined(); // no label yet: unknown, not "reliable"
      const rawFirst = (await stored(client, namespace, 'hand-raw')).get(window);
      expect(rawFirst?.estimated?.calibrated).toBe(false);
      expect(rawFirst?.estimated?.accuracy).toBeCloseTo((0.85 + 0.7 + 0.55) / 3, 9);

      // The labels arrive, all positive: the next pass re-runs the window and marks the estimate.
      const ops: unknown[] = [];
      for (let j = 0; j < 3; j++)
        for (let c = 0; c < 100; c++)
          ops.push(...outcome(namespace, 'hand-iso', `hand-iso-w${j}-${c}`, Date.now(), 1));
      await write(client, ops);
      const second = await scheduler(client, iso).runDue();
      expect(second.failed).toBe(0);
      expect(
        second.runs.filter((r) => r.outcome === 'reprocessed').map((r) => r.window.start.getTime()),
      ).toEqual([window]);
      const after = (await stored(client, namespace, 'hand-iso')).get(window);
      expect(after?.count).toBe(300);
      expect(after?.accuracy).toBeCloseTo(1 / 3, 12);
      expect(after?.estimated?.accuracy).toBeCloseTo((5 / 6 + 2 / 3 + 1) / 3, 9);
      expect(after?.estimated?.reliable).toBe(false);
      expect(after?.estimated?.unreliable_reason).toEqual(['accuracy_outside_band', 'calibration_shift']);
      expect(after?.estimated?.check?.labelled).toBe(300);
    },
  );

  it(
    'ELEC2 1998 Q1 as the demo replays it: realised ~0.59, estimated above 0.9, every week unreliable',
    {
      timeout: 600_000,
    },
    async () => {
      const ds = demoDataset('elec');
      const data = withFeatureNames(readLabelledCsv(demoDataPath(DEMO_DATASETS.elec)), ds);
      const fitted = fitLogistic(
        data.rows.slice(0, ds.referenceRows),
        data.labels.slice(0, ds.referenceRows),
        data.features,
      );
      const score = (i: number) => predictProbability(fitted, data.rows[i]!);
      // Demo time of row i: ds.start + i · 30 min. Q1 1998 = rows in [1998-01-01, 1998-04-01).
      const q1From = Math.ceil((Date.UTC(1998, 0, 1) - ds.start) / ds.stepMs);
      const q1To = Math.ceil((Date.UTC(1998, 3, 1) - ds.start) / ds.stepMs);
      // Shifted so that Q1 starts on a week boundary 14 weeks ago (the scheduler's windows are epoch-
      // aligned and only past windows are analyzed); the reference rows keep their distance before it.
      const q1Start = alignDown(Date.now(), WEEK) - 14 * WEEK;
      const at = (i: number) => q1Start + (i - q1From) * ds.stepMs;
      const model = 'elec-q1';
      const ops: unknown[] = [];
      const rows = [
        ...Array.from({ length: ds.referenceRows }, (_, i) => i),
        ...Array.from({ length: q1To - q1From }, (_, k) => q1From + k),
      ];
      for (const i of rows) {
        const features: Record<string, number> = {};
        data.features.forEach((f, j) => (features[f] = data.rows[i]![j]!));
        ops.push(...prediction(namespace, model, `q1-${i}`, at(i), score(i), features));
        ops.push(
          ...outcome(namespace, model, `q1-${i}`, at(i) + ds.labelDelayRows * ds.stepMs, data.labels[i]!),
        );
      }
      await write(client, ops);
      const built = await buildBaseline(client, {
        namespace,
        model,
        version: '1',
        id: namespace,
        from: new Date(at(0)),
        to: new Date(at(ds.referenceRows)),
        replace: true,
      });
      expect(built.calibration.method).toBe('isotonic');
      expect(built.profile.calibration?.count).toBe(ds.referenceRows);

      // Independent map: PAV over the reference rows' 0.001 bins (mean score, count, positives).
      const binsOf = (indices: number[]) => {
        const bins = new Map<number, { sum: number; n: number; pos: number }>();
        for (const i of indices) {
          const s = score(i);
          const b = Math.min(999, Math.floor(s / 0.001));
          const e = bins.get(b) ?? { sum: 0, n: 0, pos: 0 };
          e.sum += s;
          e.n++;
          e.pos += data.labels[i]!;
          bins.set(b, e);
        }
        return [...bins.entries()].sort((a, b) => a[0] - b[0]);
      };
      const refBins = binsOf(rows.slice(0, ds.referenceRows));
      const xs = refBins.map(([, e]) => e.sum / e.n);
      const ys = pav(refBins.map(([, e]) => ({ x: e.sum / e.n, n: e.n, pos: e.pos })));
      const calibrated = (s: number): number => {
        if (s <= xs[0]!) return ys[0]!;
        if (s >= xs[xs.length - 1]!) return ys[ys.length - 1]!;
        let j = 0;
        while (xs[j + 1]! < s) j++;
        const x0 = xs[j]!;
        const x1 = xs[j + 1]!;
        return ys[j]! + ((s - x0) / (x1 - x0)) * (ys[j + 1]! - ys[j]!);
      };

      const cfg = config(namespace, { name: model, window: '1w', start: q1Start, calibration: 'isotonic' });
      const pass = await scheduler(client, cfg).runDue();
      expect(pass.failed).toBe(0);
      const docs = await stored(client, namespace, model);
      let weeks = 0;
      let realisedRight = 0;
      let estimatedRight = 0;
      let n = 0;
      for (let w = q1Start; w < q1Start + 14 * WEEK; w += WEEK) {
        const indices = rows.slice(ds.referenceRows).filter((i) => at(i) >= w && at(i) < w + WEEK);
        if (indices.length === 0) continue;
        let right = 0;
        for (const i of indices) if ((score(i) >= 0.5 ? 1 : 0) === data.labels[i]) right++;
        let expected = 0;
        for (const [b, e] of binsOf(indices)) {
          const c = calibrated(e.sum / e.n);
          expected += b >= 500 ? e.n * c : e.n * (1 - c);
        }
        const doc = docs.get(w);
        expect(doc?.count, new Date(w).toISOString()).toBe(indices.length);
        expect(doc?.accuracy).toBeCloseTo(right / indices.length, 12);
        expect(doc?.estimated?.calibrated).toBe(true);
        expect(doc?.estimated?.accuracy).toBeCloseTo(expected / indices.length, 9);
        expect(doc?.estimated?.reliable, new Date(w).toISOString()).toBe(false);
        expect(doc?.estimated?.unreliable_reason).toContain('accuracy_outside_band');
        weeks++;
        realisedRight += right;
        estimatedRight += expected;
        n += indices.length;
      }
      expect(weeks).toBe(13);
      console.log(
        `[elec 1998 Q1 through the scheduler] ${weeks} weeks, ${n} predictions: realised ${(realisedRight / n).toFixed(3)}, calibrated estimate ${(estimatedRight / n).toFixed(3)}, all marked unreliable`,
      );
      expect(realisedRight / n).toBeGreaterThan(0.55);
      expect(realisedRight / n).toBeLessThan(0.63);
      expect(estimatedRight / n).toBeGreaterThan(0.9);
    },
  );
});
