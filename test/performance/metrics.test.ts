/**
 * Performance metrics computed by the join + performance job inside a real Elasticsearch, against
 * values computed here with plain loops over the same generated arrays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { runJoin } from '../../src/analyzer/join.js';
import { runPerformanceJob, type PerformanceResult } from '../../src/analyzer/performance.js';
import { streamNames } from '../../src/schema/streams.js';
import { runServiceHealthJob } from '../../src/analyzer/service.js';
import { compareVersions } from '../../src/analyzer/version-comparison.js';
import { compareMeans, compareProportions, summarize } from '../../src/stats/performance/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import {
  documentsOf,
  dropNamespace,
  normal,
  seededRandom,
  writeOutcomes,
  writePredictions,
} from './fixtures.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const HOUR = 3_600_000;
const WINDOW = { start: new Date(T0), end: new Date(T0 + HOUR) };
const REGIONS = ['eu', 'us', 'apac'] as const;

/** |actual − expected| ≤ rel · max(1, |expected|) */
function expectClose(actual: unknown, expected: number, rel = 1e-9): void {
  expect(typeof actual).toBe('number');
  const tolerance = rel * Math.max(1, Math.abs(expected));
  expect(Math.abs((actual as number) - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

interface BinaryRow {
  id: string;
  time: number;
  score: number;
  actual: '0' | '1';
  region: string;
  durationNs: number;
}

/** Binary data: calibrated scores (actual drawn with P = score), ties, scores of exactly 0, 0.5 and 1. */
function binaryRows(n: number, seed: number, prefix: string): BinaryRow[] {
  const random = seededRandom(seed);
  const rows: BinaryRow[] = [];
  for (let i = 0; i < n; i++) {
    const region = REGIONS[i % 3] as string;
    let score = random();
    if (region === 'apac') score = score * score; // a segment the model scores lower
    if (i % 10 === 0) score = Math.round(score * 1000) / 1000; // scores on bin edges, and ties
    if (i % 500 === 7) score = 1;
    if (i % 700 === 3) score = 0;
    if (i % 900 === 5) score = 0.5;
    rows.push({
      id: `${prefix}-${i}`,
      time: T0 + i * 1000,
      score,
      actual: random() < score ? '1' : '0',
      region,
      durationNs: Math.round(Math.exp(normal(random) * 0.5) * 5e6),
    });
  }
  return rows;
}

function exactAuc(rows: BinaryRow[]): number {
  const pos = rows.filter((r) => r.actual === '1').map((r) => r.score);
  const neg = rows.filter((r) => r.actual === '0').map((r) => r.score);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

function confusionAt(rows: BinaryRow[], threshold: number) {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const r of rows) {
    const predictedPositive = r.score >= threshold;
    const actualPositive = r.actual === '1';
    if (predictedPositive && actualPositive) c.tp++;
    else if (predictedPositive) c.fp++;
    else if (actualPositive) c.fn++;
    else c.tn++;
  }
  return c;
}

function findDoc(docs: PerformanceResult[], scope: string, segmentValue?: string): Record<string, unknown> {
  const found = docs.find((d) => {
    const perf = d.document.performance as { scope: string };
    const segment = d.document.segment as { value?: string } | undefined;
    return perf.scope === scope && segment?.value === segmentValue;
  });
  if (!found) throw new Error(`no ${scope} document ${segmentValue ?? ''}`);
  return found.document;
}

describe('performance metrics against independently computed values', () => {
  const client = testClient();
  const ns = uniqueNamespace('perfm');
  const streams = streamNames(ns);
  const binary = binaryRows(3000, 42, 'b');
  // 200 predictions that never get a label and 30 failed ones: the coverage denominator is 3200
  const unlabelled = binaryRows(200, 7, 'u');

  beforeAll(async () => {
    await installTemplates(client);
    const predictionDoc = (r: BinaryRow, withActual: boolean) => ({
      '@timestamp': new Date(r.time).toISOString(),
      prediction: { id: r.id, label: r.score >= 0.5 ? '1' : '0', score: r.score },
      model: { name: 'bin', version: '1' },
      labels: { region: r.region },
      event: { duration: r.durationNs },
      ...(withActual ? { actual: { label: r.actual } } : {}),
    });
    const failures = Array.from({ length: 30 }, (_, i) => ({
      '@timestamp': new Date(T0 + i * 60_000).toISOString(),
      prediction: { id: `f-${i}` },
      model: { name: 'bin', version: '1' },
      event: { outcome: 'failure', duration: 1_000_000 },
      error: { type: 'TimeoutError', message: 'model timed out' },
    }));
    await writePredictions(client, ns, [
      // even rows carry their label at prediction time, odd rows get it through an outcome
      ...binary.map((r, i) => predictionDoc(r, i % 2 === 0)),
      ...unlabelled.map((r) => predictionDoc(r, false)),
      ...failures,
    ]);
    await writeOutcomes(
      client,
      ns,
      binary
        .filter((_, i) => i % 2 === 1)
        .map((r) => ({
          '@timestamp': new Date(r.time + 3 * HOUR).toISOString(),
          prediction: { id: r.id },
          model: { name: 'bin', version: '1' },
          actual: { label: r.actual },
        })),
    );
    const joined = await runJoin(client, { namespace: ns, model: 'bin', refresh: true });
    expect(joined.outcomesRead).toBe(1500);
    expect(joined.predictionsWithActualRead).toBe(1500);
    expect(joined.created).toBe(3000);
    expect(joined.pending).toBe(0);
  });
  afterAll(async () => {
    await dropNamespace(client, ns, ['bin', 'mc', 'reg', 'cmp']);
    await client.close();
  });

  it('binary: confusion counts, accuracy, precision, recall, F1 exact; ROC-AUC, log loss, Brier close', async () => {
    const { documents } = await runPerformanceJob(client, {
      namespace: ns,
      model: 'bin',
      task: 'binary',
      window: WINDOW,
      segments: ['region'],
      bounds: { accuracy: { lower: 0.99 }, roc_auc: { lower: 0.5 } },
      refresh: true,
    });
    const c = confusionAt(binary, 0.5);
    const n = binary.length;
    const perf = findDoc(documents, 'model').performance as Record<string, unknown>;
    expect(perf.count).toBe(n);
    expect(perf.confusion).toEqual(c);
    expectClose(perf.accuracy, (c.tp + c.tn) / n);
    expectClose(perf.precision, c.tp / (c.tp + c.fp));
    expectClose(perf.recall, c.tp / (c.tp + c.fn));
    expectClose(perf.f1, (2 * c.tp) / (2 * c.tp + c.fp + c.fn));
    expectClose(perf.label_coverage, n / (n + unlabelled.length));

    const auc = exactAuc(binary);
    expect(Math.abs((perf.roc_auc as number) - auc)).toBeLessThanOrEqual(0.002);
    // the stored bound is honest: the exact AUC lies within it
    expect(Math.abs((perf.roc_auc as number) - auc)).toBeLessThanOrEqual(perf.roc_auc_error_bound as number);
    expect(perf.roc_auc_error_bound).toBeLessThan(0.002);

    let logLoss = 0;
    let brier = 0;
    for (const r of binary) {
      const p = Math.min(Math.max(r.score, 1e-15), 1 - 1e-15);
      const y = r.actual === '1' ? 1 : 0;
      logLoss -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
      brier += (r.score - y) ** 2;
    }
    expectClose(perf.log_loss, logLoss / n, 1e-3 * (logLoss / n));
    expectClose(perf.brier, brier / n, 1e-9);
    expect(perf.degraded).toBe(true);
    expect(perf.degraded_metrics).toEqual(['accuracy']);

    // the bound compared with is stored with the result, and the breach with value and bound
    expect(perf.bounds).toEqual({ accuracy: { lower: 0.99 }, roc_auc: { lower: 0.5 } });
    expect(perf.violations).toEqual([{ metric: 'accuracy', value: perf.accuracy, lower: 0.99 }]);

    // what the job returned is what is stored, under the same deterministic id, with the stream's
    // data_stream fields added by the writer
    const stored = await documentsOf<Record<string, unknown>>(client, streams.performance);
    expect(stored.map((d) => d.id).sort()).toEqual(documents.map((d) => d.id).sort());
    const overallId = documents.find((d) => d === documents[0])?.id;
    expect(stored.find((d) => d.id === overallId)?.source).toEqual({
      ...documents[0]?.document,
      data_stream: { type: 'metrics', dataset: 'mlmon.performance', namespace: ns },
    });
  });

  it('binary: another threshold moves the confusion counts as the loops say', async () => {
    const { documents } = await runPerformanceJob(client, {
      namespace: ns,
      model: 'bin',
      task: 'binary',
      window: WINDOW,
      threshold: 0.7,
      write: false,
    });
    expect((findDoc(documents, 'model').performance as { confusion: unknown }).confusion).toEqual(
      confusionAt(binary, 0.7),
    );
  });

  it('segments: per-region metrics, positive rate, and the fairness gaps', async () => {
    const { documents } = await runPerformanceJob(client, {
      namespace: ns,
      model: 'bin',
      task: 'binary',
      window: WINDOW,
      segments: ['region'],
      write: false,
    });
    const positiveRates: Record<string, number> = {};
    const recalls: Record<string, number> = {};
    for (const region of REGIONS) {
      const rows = binary.filter((r) => r.region === region);
      const c = confusionAt(rows, 0.5);
      const doc = findDoc(documents, 'segment', region);
      const perf = doc.performance as Record<string, unknown>;
      expect(doc.segment).toEqual({ name: 'region', value: region });
      expect(perf.confusion).toEqual(c);
      expectClose(perf.accuracy, (c.tp + c.tn) / rows.length);
      const unl = unlabelled.filter((r) => r.region === region).length;
      expectClose(perf.label_coverage, rows.length / (rows.length + unl));
      positiveRates[region] = (c.tp + c.fp) / rows.length;
      recalls[region] = c.tp / (c.tp + c.fn);
      expectClose(perf.positive_rate, positiveRates[region] as number);
    }
    const fairness = findDoc(documents, 'fairness').fairness as Record<string, unknown>;
    const rates = Object.values(positiveRates);
    const recallValues = Object.values(recalls);
    expectClose(fairness.demographic_parity_difference, Math.max(...rates) - Math.min(...rates));
    expectClose(fairness.equal_opportunity_difference, Math.max(...recallValues) - Math.min(...recallValues));
    // apac is scored lower by construction: it has the lowest positive rate
    expect((fairness.demographic_parity as { min_segments: string[] }).min_segments).toEqual(['apac']);
  });

  it('multi-class: confusion matrix, accuracy, macro and weighted F1, per-class precision and recall', async () => {
    const classes = ['a', 'b', 'c'];
    const random = seededRandom(99);
    const rows = Array.from({ length: 2000 }, (_, i) => {
      const u = random();
      const actual = u < 0.5 ? 'a' : u < 0.8 ? 'b' : 'c';
      const predicted = random() < 0.7 ? actual : (classes[Math.floor(random() * 3)] as string);
      const probabilities = Object.fromEntries(classes.map((k) => [k, k === predicted ? 0.6 : 0.2]));
      return { id: `mc-${i}`, time: T0 + i * 1500, actual, predicted, probabilities };
    });
    await writePredictions(
      client,
      ns,
      rows.map((r) => ({
        '@timestamp': new Date(r.time).toISOString(),
        prediction: { id: r.id, label: r.predicted, probabilities: r.probabilities },
        model: { name: 'mc', version: '1' },
      })),
    );
    await writeOutcomes(
      client,
      ns,
      rows.map((r) => ({
        '@timestamp': new Date(r.time + 5 * HOUR).toISOString(),
        prediction: { id: r.id },
        model: { name: 'mc', version: '1' },
        actual: { label: r.actual },
      })),
    );
    await runJoin(client, { namespace: ns, model: 'mc', refresh: true });
    const { documents } = await runPerformanceJob(client, {
      namespace: ns,
      model: 'mc',
      task: 'multiclass',
      window: WINDOW,
      write: false,
    });
    const perf = findDoc(documents, 'model').performance as Record<string, unknown>;
    const matrix: Record<string, Record<string, number>> = {};
    let correct = 0;
    let logLoss = 0;
    for (const r of rows) {
      matrix[r.actual] ??= {};
      const row = matrix[r.actual] as Record<string, number>;
      row[r.predicted] = (row[r.predicted] ?? 0) + 1;
      if (r.actual === r.predicted) correct++;
      logLoss -= Math.log(r.probabilities[r.actual] as number);
    }
    expect(perf.confusion_matrix).toEqual(matrix);
    expectClose(perf.accuracy, correct / rows.length);
    expectClose(perf.log_loss, logLoss / rows.length, 1e-3 * (logLoss / rows.length));
    let macro = 0;
    let weighted = 0;
    const perClass = perf.per_class as Array<Record<string, number | string>>;
    for (const k of classes) {
      const tp = matrix[k]?.[k] ?? 0;
      const support = rows.filter((r) => r.actual === k).length;
      const predicted = rows.filter((r) => r.predicted === k).length;
      const precision = tp / predicted;
      const recall = tp / support;
      const f1 = (2 * precision * recall) / (precision + recall);
      const got = perClass.find((p) => p.class === k) as Record<string, number>;
      expectClose(got.precision, precision);
      expectClose(got.recall, recall);
      expectClose(got.f1, f1);
      expect(got.support).toBe(support);
      macro += f1 / classes.length;
      weighted += (f1 * support) / rows.length;
    }
    expectClose(perf.f1_macro, macro);
    expectClose(perf.f1_weighted, weighted);
  });

  it('regression: RMSE, MAE, MAPE, R² exact; version comparison of the mean absolute error', async () => {
    const random = seededRandom(2024);
    const make = (version: string, noise: number) =>
      Array.from({ length: 2000 }, (_, i) => {
        const actual = i % 100 === 0 ? 0 : 50 + 10 * normal(random);
        return {
          id: `reg-${version}-${i}`,
          time: T0 + i * 1700,
          version,
          actual,
          predicted: actual + noise * normal(random) + 0.5,
        };
      });
    const v1 = make('1', 2);
    const v2 = make('2', 2.5);
    await writePredictions(
      client,
      ns,
      [...v1, ...v2].map((r) => ({
        '@timestamp': new Date(r.time).toISOString(),
        prediction: { id: r.id, value: r.predicted },
        model: { name: 'reg', version: r.version },
        actual: { value: r.actual },
      })),
    );
    await runJoin(client, { namespace: ns, model: 'reg', refresh: true });
    const { documents } = await runPerformanceJob(client, {
      namespace: ns,
      model: 'reg',
      version: '1',
      task: 'regression',
      window: WINDOW,
      bounds: { rmse: { upper: 10 } },
      write: false,
    });
    const perf = findDoc(documents, 'model').performance as Record<string, unknown>;
    let sse = 0;
    let sae = 0;
    let sape = 0;
    let nonZero = 0;
    let mean = 0;
    for (const r of v1) mean += r.actual / v1.length;
    let sst = 0;
    for (const r of v1) {
      const e = r.predicted - r.actual;
      sse += e * e;
      sae += Math.abs(e);
      if (r.actual !== 0) {
        sape += Math.abs(e / r.actual);
        nonZero++;
      }
      sst += (r.actual - mean) ** 2;
    }
    expect(perf.count).toBe(v1.length);
    expectClose(perf.rmse, Math.sqrt(sse / v1.length));
    expectClose(perf.mae, sae / v1.length);
    expectClose(perf.mape, sape / nonZero);
    expectClose(perf.r2, 1 - sse / sst);
    expect(perf.mape_excluded).toBe(v1.length - nonZero);
    expect(perf.degraded).toBe(false);

    const comparison = await compareVersions(client, {
      namespace: ns,
      model: 'reg',
      versionA: '1',
      versionB: '2',
      task: 'regression',
      window: WINDOW,
    });
    const expected = compareMeans(
      summarize(v1.map((r) => Math.abs(r.predicted - r.actual))),
      summarize(v2.map((r) => Math.abs(r.predicted - r.actual))),
    );
    expectClose(comparison.mae?.difference, expected.difference as number, 1e-9);
    expectClose(comparison.mae?.t, expected.t as number, 1e-6);
    expectClose(comparison.mae?.pValue, expected.pValue as number, 1e-6);
    expect(comparison.countA).toBe(2000);
    expect(comparison.countB).toBe(2000);
  });

  it('version comparison of accuracy: counts per version and the two-proportion test', async () => {
    const random = seededRandom(5);
    const rows = (['1', '2'] as const).flatMap((version) =>
      Array.from({ length: 1500 }, (_, i) => {
        const actual = random() < 0.4 ? '1' : '0';
        const right = random() < (version === '1' ? 0.8 : 0.86);
        return {
          id: `cmp-${version}-${i}`,
          version,
          actual,
          predicted: right ? actual : actual === '1' ? '0' : '1',
        };
      }),
    );
    await writePredictions(
      client,
      ns,
      rows.map((r, i) => ({
        '@timestamp': new Date(T0 + i * 1000).toISOString(),
        prediction: { id: r.id, label: r.predicted },
        model: { name: 'cmp', version: r.version },
        actual: { label: r.actual },
      })),
    );
    await runJoin(client, { namespace: ns, model: 'cmp', refresh: true });
    for (const task of ['binary', 'multiclass'] as const) {
      const comparison = await compareVersions(client, {
        namespace: ns,
        model: 'cmp',
        versionA: '1',
        versionB: '2',
        task,
        window: WINDOW,
      });
      const count = (version: string) => ({
        successes: rows.filter((r) => r.version === version && r.actual === r.predicted).length,
        trials: rows.filter((r) => r.version === version).length,
      });
      expect(comparison.accuracy?.countsA).toEqual(count('1'));
      expect(comparison.accuracy?.countsB).toEqual(count('2'));
      const expected = compareProportions(count('1'), count('2'));
      expectClose(comparison.accuracy?.difference, expected.difference as number);
      expectClose(comparison.accuracy?.pValue, expected.pValue as number);
      expect(comparison.accuracy?.difference).toBeGreaterThan(0);
    }
  });

  it('service health: latency percentiles in ms, throughput per minute, error rate', async () => {
    const { health, documents } = await runServiceHealthJob(client, {
      namespace: ns,
      model: 'bin',
      window: WINDOW,
      refresh: true,
    });
    expect(health.map((h) => h.version)).toEqual(['1']);
    const h = health[0]!;
    const total = binary.length + unlabelled.length + 30;
    expect(h.count).toBe(total);
    expect(h.errors).toBe(30);
    expectClose(h.errorRate, 30 / total);
    expectClose(h.throughput, total / 60);
    const durationsMs = [...binary, ...unlabelled]
      .map((r) => r.durationNs / 1e6)
      .concat(Array.from({ length: 30 }, () => 1))
      .sort((a, b) => a - b);
    for (const [p, got] of [
      [50, h.latencyMs.p50],
      [95, h.latencyMs.p95],
      [99, h.latencyMs.p99],
    ] as const) {
      const nearestRank = durationsMs[Math.ceil((p / 100) * durationsMs.length) - 1] as number;
      // HDR histogram with 3 significant digits: within 0.1 % of the value at that rank
      expect(Math.abs((got as number) - nearestRank), `p${p}`).toBeLessThanOrEqual(1e-3 * nearestRank);
    }
    const stored = await documentsOf<{ service: { error_rate: number } }>(client, streams.service);
    expect(stored.map((d) => d.id)).toEqual(documents.map((d) => d.id));
    expectClose(stored[0]?.source.service.error_rate, 30 / total);
  });
});
