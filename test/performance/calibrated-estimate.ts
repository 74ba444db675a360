/**
 * The calibrated-CBPE study shared by estimated-elec.test.ts and estimated-weather.test.ts: a model
 * frozen after its training slice, a reference slice after it whose labels calibrate the scores
 * (fitted inside Elasticsearch from the evaluation stream and stored with the baseline, as a user
 * would), then one performance job per window with that calibration. Every window's estimate is
 * checked against the CBPE expectation computed here from the raw scores (binned at 0.001 as the job
 * does, bin means mapped through the same calibration), its realised accuracy against the counted
 * one, and the figures (mean |estimated − realised|, band coverage, windows marked unreliable) are
 * returned for the test to print and assert.
 */
import type { Client } from '@elastic/elasticsearch';
import { expect } from 'vitest';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { calibrationFromElasticsearch, withCalibration } from '../../src/profiles/calibration.js';
import { getBaseline, saveBaseline } from '../../src/profiles/store.js';
import type { DatasetProfile } from '../../src/profiles/types.js';
import {
  calibrate,
  fitIsotonicCalibration,
  type ScoreCalibration,
} from '../../src/stats/performance/calibration.js';

/** The `performance.estimated` fields the calibrated-estimate tests read from result documents. */
export interface EstimatedFields {
  accuracy: number;
  calibrated: boolean;
  accuracy_lower: number;
  accuracy_upper: number;
  reliable?: boolean;
  unreliable_reason?: string[];
  check?: { labelled: number; realised_accuracy: number };
}

export interface StudyInput {
  client: Client;
  namespace: string;
  model: string;
  version: string;
  /** raw score and label of every row (row i is at t0 + i · step) */
  scores: readonly number[];
  labels: readonly number[];
  t0: number;
  step: number;
  /** rows per window */
  perWindow: number;
  /** reference: windows [first, end) */
  reference: { first: number; end: number };
  windows: number;
}

export interface WindowFigure {
  window: number;
  estimated: number;
  realised: number;
  /** the same estimate without calibration */
  raw: number;
  lower: number;
  upper: number;
  reliable: boolean | undefined;
  reasons: string[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Σ P(right) / n of rows [from, to) with the 0.001 bins the job uses, raw or calibrated. */
export function expectedAccuracy(
  scores: readonly number[],
  from: number,
  to: number,
  calibration?: ScoreCalibration,
): number {
  const counts = new Map<number, { count: number; sum: number }>();
  for (let i = from; i < to; i++) {
    const s = scores[i] as number;
    const bin = Math.min(999, Math.floor(s / 0.001));
    const c = counts.get(bin) ?? { count: 0, sum: 0 };
    c.count++;
    c.sum += s;
    counts.set(bin, c);
  }
  let right = 0;
  for (const [bin, { count, sum }] of counts) {
    const m = sum / count;
    const p = calibration ? calibrate(calibration, m) : m;
    right += bin >= 500 ? count * p : count * (1 - p);
  }
  return right / (to - from);
}

export async function calibratedStudy(input: StudyInput): Promise<{
  calibration: ScoreCalibration;
  figures: WindowFigure[];
  /** calibrated expected and realised accuracy over the whole reference period */
  reference: { expected: number; realised: number };
}> {
  const { client, namespace, model, version, scores, labels, t0, step, perWindow } = input;
  const at = (row: number) => new Date(t0 + row * step);
  const refFrom = input.reference.first * perWindow;
  const refTo = input.reference.end * perWindow;

  // 1. Calibration from the reference window's labels, inside Elasticsearch.
  const fitted = await calibrationFromElasticsearch(client, {
    namespace,
    model,
    version,
    from: at(refFrom),
    to: at(refTo),
  });
  // Independent: the same isotonic fit of the 0.001-binned reference rows, computed here.
  const bins = new Map<number, { count: number; sum: number; positives: number }>();
  for (let i = refFrom; i < refTo; i++) {
    const s = scores[i] as number;
    const bin = Math.min(999, Math.floor(s / 0.001));
    const b = bins.get(bin) ?? { count: 0, sum: 0, positives: 0 };
    b.count++;
    b.sum += s;
    b.positives += labels[i] as number;
    bins.set(bin, b);
  }
  const local = fitIsotonicCalibration(
    [...bins.values()].map((b) => ({ score: b.sum / b.count, count: b.count, positives: b.positives })),
  );
  expect(fitted.count).toBe(refTo - refFrom);
  expect(fitted.positives).toBe(labels.slice(refFrom, refTo).reduce((a, b) => a + b, 0));
  expect(fitted.probabilities).toEqual(local.probabilities);
  expect(fitted.scores).toHaveLength(local.scores.length);
  fitted.scores.forEach((x, k) => expect(x).toBeCloseTo(local.scores[k] as number, 12));

  // 2. Stored with the baseline and read back, as the scheduler would.
  const profile: DatasetProfile = {
    source: { kind: 'elasticsearch', index: `logs-mlmon.prediction-${namespace}`, from: '', to: '' },
    rowCount: refTo - refFrom,
    createdAt: new Date().toISOString(),
    options: { fineBins: 100, topK: 100 },
    features: {},
  };
  await saveBaseline(client, { model, version, id: namespace, namespace }, withCalibration(profile, fitted), {
    replace: true,
  });
  const stored = await getBaseline(client, { model, version, id: namespace, namespace });
  const calibration = stored?.profile.calibration as ScoreCalibration;
  expect(calibration).toEqual(fitted);

  // 3. One job per window with the calibration, a few at a time.
  const figures: WindowFigure[] = [];
  for (let first = 0; first < input.windows; first += 8) {
    const batch = Array.from({ length: Math.min(8, input.windows - first) }, (_, k) => first + k);
    const results = await Promise.all(
      batch.map(async (w) => {
        const window = { start: at(w * perWindow), end: at((w + 1) * perWindow) };
        const { documents } = await runPerformanceJob(client, {
          namespace,
          model,
          version,
          task: 'binary',
          window,
          calibration,
          write: false,
        });
        return { w, documents };
      }),
    );
    for (const { w, documents } of results) {
      expect(documents).toHaveLength(1);
      const perf = documents[0]!.document.performance as {
        count: number;
        accuracy: number;
        estimated: EstimatedFields;
      };
      const from = w * perWindow;
      const to = from + perWindow;
      let correct = 0;
      for (let i = from; i < to; i++) if (((scores[i] as number) >= 0.5 ? 1 : 0) === labels[i]) correct++;
      expect(perf.count).toBe(perWindow);
      expect(perf.accuracy).toBeCloseTo(correct / perWindow, 12);
      expect(perf.estimated.calibrated).toBe(true);
      expect(perf.estimated.accuracy).toBeCloseTo(expectedAccuracy(scores, from, to, calibration), 9);
      // fully labelled windows: the check sees every prediction
      expect(perf.estimated.check?.labelled).toBe(perWindow);
      expect(perf.estimated.check?.realised_accuracy).toBeCloseTo(perf.accuracy, 12);
      const outside =
        perf.accuracy < perf.estimated.accuracy_lower || perf.accuracy > perf.estimated.accuracy_upper;
      // the labelled predictions are the whole window, so leaving the band is failing the check
      if (outside) expect(perf.estimated.unreliable_reason).toContain('accuracy_outside_band');
      figures.push({
        window: w,
        estimated: perf.estimated.accuracy,
        realised: perf.accuracy,
        raw: expectedAccuracy(scores, from, to),
        lower: perf.estimated.accuracy_lower,
        upper: perf.estimated.accuracy_upper,
        reliable: perf.estimated.reliable,
        reasons: perf.estimated.unreliable_reason ?? [],
      });
    }
  }
  figures.sort((a, b) => a.window - b.window);
  let right = 0;
  for (let i = refFrom; i < refTo; i++) if (((scores[i] as number) >= 0.5 ? 1 : 0) === labels[i]) right++;
  return {
    calibration,
    figures,
    reference: {
      expected: expectedAccuracy(scores, refFrom, refTo, calibration),
      realised: right / (refTo - refFrom),
    },
  };
}

/** Mean errors and band figures over the windows after the reference. */
export function summarise(figures: readonly WindowFigure[], after: number) {
  const later = figures.filter((f) => f.window >= after);
  const reliable = later.filter((f) => f.reliable === true);
  const unreliable = later.filter((f) => f.reliable === false);
  const err = (f: WindowFigure) => Math.abs(f.estimated - f.realised);
  return {
    windows: later.length,
    rawMae: mean(later.map((f) => Math.abs(f.raw - f.realised))),
    calibratedMae: mean(later.map(err)),
    insideBand: later.filter((f) => f.realised >= f.lower && f.realised <= f.upper).length,
    unreliable: unreliable.length,
    reliableMae: reliable.length > 0 ? mean(reliable.map(err)) : null,
    unreliableMae: unreliable.length > 0 ? mean(unreliable.map(err)) : null,
    meanBandHalfWidth: mean(later.map((f) => (f.upper - f.lower) / 2)),
  };
}

export function describeSummary(name: string, s: ReturnType<typeof summarise>): string {
  const f = (x: number | null) => (x === null ? '—' : x.toFixed(4));
  return (
    `[${name} calibrated CBPE] ${s.windows} windows after the reference: mean |estimated − realised| ` +
    `raw ${f(s.rawMae)}, calibrated ${f(s.calibratedMae)}; realised inside the 3σ band in ` +
    `${s.insideBand}/${s.windows} (mean half-width ${f(s.meanBandHalfWidth)}); marked unreliable ` +
    `${s.unreliable}/${s.windows}; mean error where reliable ${f(s.reliableMae)}, where unreliable ${f(s.unreliableMae)}`
  );
}
