/**
 * Test rows with labels and a reference implementation of the metrics, written from the textbook
 * definitions with plain loops and no code shared with src/stats, so that the analyzer's numbers
 * (aggregations in Elasticsearch + src/stats) are checked against an independent computation.
 */

import type { Client } from '@elastic/elasticsearch';
import { expect } from 'vitest';
import { streamNames } from '../../src/schema/streams.js';

/** Writes prediction documents as the logger does: bulk `create`, no refresh. */
export async function logPredictions(
  client: Client,
  namespace: string,
  docs: Array<Record<string, unknown> & { prediction: { id: string } }>,
): Promise<void> {
  for (let i = 0; i < docs.length; i += 5000) {
    const operations = docs
      .slice(i, i + 5000)
      .flatMap((d) => [{ create: { _index: streamNames(namespace).prediction, _id: d.prediction.id } }, d]);
    const response = await client.bulk({ operations, refresh: false });
    if (response.errors) throw new Error('bulk failed');
  }
}

export const T0 = Date.parse('2026-03-02T00:00:00Z');
export const HOUR = 3_600_000;

export interface BinaryRow {
  score: number;
  actual: 0 | 1;
  document: Record<string, unknown> & { prediction: { id: string } };
}

/** `n` binary predictions inside [T0, T0 + 1h), labels drawn so the scores are informative. */
export function binaryRows(
  random: () => number,
  n: number,
  model: string,
  start = T0,
  spanMs = HOUR,
): BinaryRow[] {
  return Array.from({ length: n }, (_, i) => {
    const score = Math.round(random() * 1e6) / 1e6;
    const actual: 0 | 1 = random() < score ? 1 : 0;
    return {
      score,
      actual,
      document: {
        '@timestamp': new Date(start + Math.floor((i * spanMs) / n)).toISOString(),
        model: { name: model, version: '1' },
        prediction: { id: `${model}-${i}`, score, label: score >= 0.5 ? '1' : '0' },
        actual: { label: String(actual) },
      },
    };
  });
}

const EPS = 1e-15;
const clip = (p: number) => Math.min(Math.max(p, EPS), 1 - EPS);

export function binaryReference(rows: ReadonlyArray<{ score: number; actual: 0 | 1 }>) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let logLoss = 0;
  let brier = 0;
  for (const r of rows) {
    const predicted = r.score >= 0.5 ? 1 : 0;
    if (predicted === 1 && r.actual === 1) tp++;
    else if (predicted === 1) fp++;
    else if (r.actual === 1) fn++;
    else tn++;
    logLoss += r.actual === 1 ? -Math.log(clip(r.score)) : -Math.log(1 - clip(r.score));
    brier += (r.score - r.actual) ** 2;
  }
  // Mann-Whitney: share of (positive, negative) pairs ranked right, ties half.
  const pos = rows.filter((r) => r.actual === 1).map((r) => r.score);
  const neg = rows.filter((r) => r.actual === 0).map((r) => r.score);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  return {
    n: rows.length,
    accuracy: (tp + tn) / rows.length,
    precision,
    recall,
    f1: (2 * precision * recall) / (precision + recall),
    logLoss: logLoss / rows.length,
    brier: brier / rows.length,
    auc: wins / (pos.length * neg.length),
  };
}

export interface MulticlassRow {
  probabilities: Record<string, number>;
  predicted: string;
  actual: string;
  document: Record<string, unknown> & { prediction: { id: string } };
}

const CLASSES = ['a', 'b', 'c'];

export function multiclassRows(random: () => number, n: number, model: string, start = T0): MulticlassRow[] {
  return Array.from({ length: n }, (_, i) => {
    const raw = CLASSES.map(() => random() + 0.05);
    const total = raw.reduce((s, v) => s + v, 0);
    const probabilities = Object.fromEntries(CLASSES.map((c, k) => [c, (raw[k] as number) / total]));
    const predicted = CLASSES.reduce((best, c) =>
      (probabilities[c] as number) > (probabilities[best] as number) ? c : best,
    );
    // the actual class drawn from the probabilities: the model is calibrated
    let u = random();
    let actual = CLASSES[CLASSES.length - 1] as string;
    for (const c of CLASSES) {
      u -= probabilities[c] as number;
      if (u < 0) {
        actual = c;
        break;
      }
    }
    return {
      probabilities,
      predicted,
      actual,
      document: {
        '@timestamp': new Date(start + Math.floor((i * HOUR) / n)).toISOString(),
        model: { name: model, version: '1' },
        prediction: { id: `${model}-${i}`, label: predicted, probabilities },
        actual: { label: actual },
      },
    };
  });
}

export function multiclassReference(rows: readonly MulticlassRow[]) {
  let correct = 0;
  let logLoss = 0;
  let brier = 0;
  const f1s: number[] = [];
  for (const r of rows) {
    if (r.predicted === r.actual) correct++;
    logLoss += -Math.log(clip(r.probabilities[r.actual] as number));
    for (const c of CLASSES) brier += ((r.probabilities[c] as number) - (c === r.actual ? 1 : 0)) ** 2;
  }
  for (const c of CLASSES) {
    const tp = rows.filter((r) => r.predicted === c && r.actual === c).length;
    const predicted = rows.filter((r) => r.predicted === c).length;
    const support = rows.filter((r) => r.actual === c).length;
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    f1s.push(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall));
  }
  return {
    accuracy: correct / rows.length,
    f1Macro: f1s.reduce((s, v) => s + v, 0) / f1s.length,
    logLoss: logLoss / rows.length,
    brier: brier / rows.length,
  };
}

export interface RegressionRow {
  predicted: number;
  actual: number;
  document: Record<string, unknown> & { prediction: { id: string } };
}

export function regressionRows(random: () => number, n: number, model: string, start = T0): RegressionRow[] {
  return Array.from({ length: n }, (_, i) => {
    const actual = Math.round((random() * 100 + 1) * 1000) / 1000;
    const predicted = Math.round((actual + (random() - 0.5) * 20) * 1000) / 1000;
    return {
      predicted,
      actual,
      document: {
        '@timestamp': new Date(start + Math.floor((i * HOUR) / n)).toISOString(),
        model: { name: model, version: '1' },
        prediction: { id: `${model}-${i}`, value: predicted },
        actual: { value: actual },
      },
    };
  });
}

export function regressionReference(rows: readonly RegressionRow[]) {
  const n = rows.length;
  const mean = rows.reduce((s, r) => s + r.actual, 0) / n;
  let se = 0;
  let ae = 0;
  let ape = 0;
  let sst = 0;
  for (const r of rows) {
    se += (r.predicted - r.actual) ** 2;
    ae += Math.abs(r.predicted - r.actual);
    ape += Math.abs((r.predicted - r.actual) / r.actual);
    sst += (r.actual - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: 1 - se / sst, mape: ape / n };
}

/** `perf[field]` equals `expected` to `digits` decimal digits, for each `[field, expected, digits]`. */
function expectClose(perf: Record<string, number>, checks: ReadonlyArray<[string, number, number]>): void {
  for (const [field, expected, digits] of checks) expect(perf[field], field).toBeCloseTo(expected, digits);
}

/**
 * A window's stored performance (`performance.*` of its model-scope document) equals the reference
 * computed from its rows, every one of them labelled: counts exactly, ratios to 12 digits, means of
 * logs and squares to 9 (summation order differs from Elasticsearch's).
 */
export function expectBinaryReference(perf: Record<string, number>, rows: readonly BinaryRow[]): void {
  const e = binaryReference(rows);
  expect([perf.count, perf.label_coverage]).toEqual([rows.length, 1]);
  expectClose(perf, [
    ['accuracy', e.accuracy, 12],
    ['precision', e.precision, 12],
    ['recall', e.recall, 12],
    ['f1', e.f1, 12],
    ['log_loss', e.logLoss, 9],
    ['brier', e.brier, 9],
  ]);
  // binned AUC: the exact value lies within the stored error bound
  expect(Math.abs((perf.roc_auc as number) - e.auc)).toBeLessThanOrEqual(
    (perf.roc_auc_error_bound as number) + 1e-12,
  );
}

/** The same for a multi-class model. */
export function expectMulticlassReference(
  perf: Record<string, number>,
  rows: readonly MulticlassRow[],
): void {
  const e = multiclassReference(rows);
  expect(perf.count).toBe(rows.length);
  expectClose(perf, [
    ['accuracy', e.accuracy, 12],
    ['f1_macro', e.f1Macro, 12],
    ['log_loss', e.logLoss, 9],
    ['brier', e.brier, 9],
  ]);
}

/** The same for a regression model. */
export function expectRegressionReference(
  perf: Record<string, number>,
  rows: readonly RegressionRow[],
): void {
  const e = regressionReference(rows);
  expect(perf.count).toBe(rows.length);
  expectClose(perf, [
    ['rmse', e.rmse, 9],
    ['mae', e.mae, 9],
    ['r2', e.r2, 9],
    ['mape', e.mape, 9],
  ]);
}
