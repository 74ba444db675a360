/**
 * The demo's summary as a pure calculation over report data made up here, so every expected figure
 * is counted by hand: drift onsets need three flagged windows in a row (a lone flagged window is
 * not an onset), accuracy per calendar quarter is the mean of its windows, and a quarter whose
 * windows the labels contradicted carries the warning, with the reasons in words.
 */
import { describe, expect, it } from 'vitest';
import { renderSummary, summarizeDemo } from '../../src/cli/demo/summary.js';
import type { DriftRow, ModelPeriodData, PerformancePoint } from '../../src/report/types.js';

const WEEK = 7 * 86_400_000;
const start = Date.UTC(1996, 5, 6); // Thursday 1996-06-06
const week = (k: number) => new Date(start + k * WEEK).toISOString();

function drift(feature: string, k: number, detected: boolean): DriftRow {
  return {
    version: '1',
    feature,
    kind: 'numeric',
    windowStart: week(k),
    windowEnd: week(k + 1),
    windowCount: 336,
    method: 'ks',
    score: detected ? 0.5 : 0.01,
    threshold: 0.1,
    detected,
    severity: null,
    psi: null,
    referenceId: 'training',
    referenceType: 'baseline',
  };
}

function perf(k: number, realised: number, estimated: number, reliable: boolean | null): PerformancePoint {
  return {
    version: '1',
    windowStart: week(k),
    windowEnd: week(k + 1),
    task: 'binary',
    count: 336,
    labelCoverage: 1,
    realised: { accuracy: realised },
    estimated: { accuracy: estimated, accuracy_lower: estimated - 0.05, accuracy_upper: estimated + 0.05 },
    degraded: null,
    degradedMetrics: [],
    estimatedDegraded: null,
    estimatedReliable: reliable,
    estimatedUnreliableReasons: reliable === false ? ['accuracy_outside_band'] : [],
  };
}

describe('demo summary', () => {
  // 8 weeks: 1996-06-06 … 1996-07-25; weeks 0–3 in Q2 (to 06-27), 4–7 in Q3.
  const vic = [false, false, false, false, true, true, true, true];
  const nsw = [false, true, false, false, false, false, false, false]; // one odd week
  const data = {
    drift: [
      ...vic.map((d, k) => drift('vicprice', k, d)),
      ...nsw.map((d, k) => drift('nswprice', k, d)),
      ...vic.map((_, k) => ({ ...drift('prediction.score', k, true), kind: 'prediction' })),
    ],
    performance: [
      ...[0.8, 0.8, 0.82, 0.78].map((a, k) => perf(k, a, a + 0.01, true)),
      ...[0.6, 0.58, 0.62, 0.6].map((a, k) => perf(k + 4, a, 0.9, false)),
    ],
  } as unknown as ModelPeriodData;

  it('drift onsets, quarterly accuracy, the gap, and the unreliable quarter', () => {
    const s = summarizeDemo(data, WEEK);
    expect(s.windows).toBe(8);
    // vicprice: weeks 4, 5, 6 in a row → from week 4 (1996-07-04); nswprice never three in a row;
    // the prediction is not an input feature
    expect(s.drift.onsets).toEqual([{ from: '1996-07-04', features: ['vicprice'] }]);
    expect(s.drift.byFeature.find((f) => f.name === 'nswprice')).toMatchObject({
      drifted: 1,
      firstFlagged: '1996-06-13',
      sustainedFrom: null,
    });
    expect(s.drift.byFeature.map((f) => f.name)).not.toContain('prediction.score');
    // Q2: (0.8 + 0.8 + 0.82 + 0.78) / 4 = 0.8; Q3: (0.6 + 0.58 + 0.62 + 0.6) / 4 = 0.6
    expect(s.periods.map((p) => [p.label, p.realised, p.unreliable, p.judged])).toEqual([
      ['1996 Q2', expect.closeTo(0.8, 12), 0, 4],
      ['1996 Q3', expect.closeTo(0.6, 12), 4, 4],
    ]);
    // gaps: 0.01 in the four Q2 weeks; 0.3, 0.32, 0.28, 0.3 in Q3 → mean (0.04 + 1.2) / 8 = 0.155
    expect(s.estimate.meanAbsoluteGap).toBeCloseTo(0.155, 12);
    expect(s.estimate.reliableMeanAbsoluteGap).toBeCloseTo(0.01, 12);
    expect(s.accuracy.first).toEqual({ label: '1996 Q2', value: expect.closeTo(0.8, 12) });
    expect(s.accuracy.worst).toEqual({ label: '1996 Q3', value: expect.closeTo(0.6, 12) });

    const text = renderSummary(s, { windowName: 'weekly', referenceLabel: 'the reference' }).join('\n');
    expect(text).toContain('began in the window of 1996-07-04 in vicprice');
    expect(text).toContain('Accuracy fell from 0.80 (1996 Q2) to 0.60 (1996 Q3); 0.60 in 1996 Q3.');
    // The estimate, said once: it held in weeks 0–3 (1996-06-06 to the end of week 3, 1996-07-04), 4 of the 8 judged,
    // 0.01 from realised in each; it failed from week 4 (three contradicted weeks in a row start
    // there), the labels contradicting it in 4 of the 4 weeks since; estimated 0.9 in each, realised
    // (0.6 + 0.58 + 0.62 + 0.6) / 4 = 0.6.
    expect(s.estimate.failedFrom).toBe('1996-07-04');
    expect(text).toContain(
      'The label-free estimate (scores alone) held in 4 of 8 windows judged (between 1996-06-06 and 1996-07-04): 0.010 from realised accuracy on average there.',
    );
    expect(text).toContain(
      'It failed from the window of 1996-07-04 on, because the labels put realised accuracy outside its band: the labels contradicted it in 4 of the 4 windows since (estimated 0.90, realised 0.60); read the realised accuracy there, not the estimate.',
    );
    // once, not on every period
    expect(text.match(/contradicted/g)).toHaveLength(1);
    expect(text).not.toContain('⚠');
    expect(text).toMatch(/1996 Q3 +realised 0\.600 +estimated 0\.900 \[0\.85, 0\.95\] +\(4 windows\)$/m);
  });

  it('says so when nothing drifted and accuracy held', () => {
    const quiet = {
      drift: vic.map((_, k) => drift('period', k, false)),
      performance: [0, 1, 2, 3].map((k) => perf(k, 0.8, 0.8, true)),
    } as unknown as ModelPeriodData;
    const text = renderSummary(summarizeDemo(quiet, WEEK), {
      windowName: 'weekly',
      referenceLabel: 'the reference',
    }).join('\n');
    expect(text).toMatch(/^Drift: no input feature drifted 3 weekly windows in a row/);
    expect(text).toContain('Accuracy held: 0.80 (1996 Q2)');
    expect(text).not.toContain('⚠');
  });
});
