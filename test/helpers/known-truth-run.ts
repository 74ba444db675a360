/**
 * Runs known-truth rows (known-truth.ts) through the product as a user would: every row indexed as
 * a prediction with its actual (the logger's documents; `eval.source: prediction` after the join),
 * `buildBaseline` over the reference windows (join, profile, calibration), then the performance job
 * of every analysis window with that baseline's calibration, documents computed (not written). The
 * figures per window are read from the model-scope documents; shared by the acceptance test and
 * bench/estimation.bench.ts.
 */
import type { Client } from '@elastic/elasticsearch';
import { buildBaseline, calibrationLookup } from '../../src/analyzer/baseline.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { streamNames } from '../../src/schema/streams.js';
import type { KnownTruthRow } from './known-truth.js';

export const KNOWN_TRUTH_T0 = Date.UTC(2026, 0, 1);
/** one row a second: a window of 1000 rows is 1000 s */
export const ROW_MS = 1000;

export interface KnownTruthWindow {
  window: number;
  /** model-scope `performance` of the window */
  performance: Record<string, unknown> & {
    accuracy?: number;
    estimated?: Record<string, unknown> & {
      accuracy?: number;
      reliable?: boolean;
      failed_assumptions?: string[];
      unreliable_reason?: string[];
      interval?: Record<string, { lower: number; upper: number }>;
    };
  };
}

export interface KnownTruthRunOptions {
  client: Client;
  namespace: string;
  rows: readonly KnownTruthRow[];
  rowsPerWindow: number;
  referenceWindows: number;
  classes: number;
  model?: string;
  /** `none`: estimate from raw scores (the baseline stores no map) */
  calibration?: 'isotonic' | 'none' | 'auto';
  /** time of row 0 (default KNOWN_TRUTH_T0) and between rows (default ROW_MS) */
  t0?: number;
  rowMs?: number;
}

/** Indexes the rows (one bulk, refreshed). */
export async function indexKnownTruth(o: KnownTruthRunOptions): Promise<void> {
  await installTemplates(o.client);
  const stream = streamNames(o.namespace).prediction;
  const model = o.model ?? 'known-truth';
  const docs = o.rows.map((r, i) => ({
    '@timestamp': new Date((o.t0 ?? KNOWN_TRUTH_T0) + i * (o.rowMs ?? ROW_MS)).toISOString(),
    model: { name: model, version: '1' },
    features: Object.fromEntries(r.features.map((v, k) => [`x${k}`, v])),
    prediction: {
      id: `${o.namespace}-${i}`,
      label: r.predicted,
      ...(o.classes === 2
        ? { score: r.probabilities[1] }
        : { probabilities: Object.fromEntries(r.probabilities.map((p, k) => [String(k), p])) }),
    },
    actual: { label: r.actual },
  }));
  const result = await o.client.helpers.bulk({
    datasource: docs,
    onDocument: (doc) => ({ create: { _index: stream, _id: doc.prediction.id } }),
    flushBytes: 5_000_000,
    concurrency: 2,
    refreshOnCompletion: stream,
  });
  if (result.failed > 0) throw new Error(`${result.failed} known-truth documents failed to index`);
}

/** Baseline over the reference windows, then the performance job of every analysis window. */
export async function analyzeKnownTruth(o: KnownTruthRunOptions): Promise<KnownTruthWindow[]> {
  const model = o.model ?? 'known-truth';
  const t0 = o.t0 ?? KNOWN_TRUTH_T0;
  const windowMs = o.rowsPerWindow * (o.rowMs ?? ROW_MS);
  const referenceEnd = new Date(t0 + o.referenceWindows * windowMs);
  await buildBaseline(o.client, {
    namespace: o.namespace,
    model,
    version: '1',
    id: o.namespace,
    from: new Date(t0),
    to: referenceEnd,
    replace: true,
    calibration: o.calibration,
  });
  const calibration = calibrationLookup(o.client, {
    namespace: o.namespace,
    model,
    reference: { type: 'baseline', id: o.namespace },
  });
  const windows = Math.floor(o.rows.length / o.rowsPerWindow);
  const out: KnownTruthWindow[] = [];
  for (let w = o.referenceWindows; w < windows; w++) {
    const start = new Date(t0 + w * windowMs);
    const result = await runPerformanceJob(o.client, {
      namespace: o.namespace,
      model,
      version: '1',
      task: o.classes === 2 ? 'binary' : 'multiclass',
      window: { start, end: new Date(start.getTime() + windowMs) },
      calibration: async (version) => (await calibration(version)).calibration,
      write: false,
    });
    const doc = result.documents.find(
      (d) => (d.document.performance as { scope?: string } | undefined)?.scope === 'model',
    );
    out.push({
      window: w,
      performance: (doc?.document.performance ?? {}) as KnownTruthWindow['performance'],
    });
  }
  return out;
}

export interface KnownTruthFigures {
  windows: number;
  /** mean |estimated − realised| per metric over windows with both */
  meanAbsError: Record<string, number>;
  /** share of windows whose realised value lies inside the estimate's interval, per metric */
  coverage: Record<string, number>;
  /** windows the reliability check marked unreliable */
  unreliable: number;
  /** windows per failed assumption */
  assumptions: Record<string, number>;
}

/** The benchmark's and the test's figures over the given windows. */
export function knownTruthFigures(
  windows: readonly KnownTruthWindow[],
  metrics: readonly string[] = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'],
): KnownTruthFigures {
  const meanAbsError: Record<string, number> = {};
  const coverage: Record<string, number> = {};
  for (const m of metrics) {
    const errs: number[] = [];
    let inside = 0;
    let banded = 0;
    for (const w of windows) {
      const realised = w.performance[m];
      const estimated = w.performance.estimated?.[m];
      if (typeof realised !== 'number' || typeof estimated !== 'number') continue;
      errs.push(Math.abs(estimated - realised));
      const band = w.performance.estimated?.interval?.[m];
      if (band) {
        banded++;
        if (realised >= band.lower && realised <= band.upper) inside++;
      }
    }
    if (errs.length > 0) meanAbsError[m] = errs.reduce((a, b) => a + b, 0) / errs.length;
    if (banded > 0) coverage[m] = inside / banded;
  }
  const assumptions: Record<string, number> = {};
  for (const w of windows)
    for (const a of w.performance.estimated?.failed_assumptions ?? [])
      assumptions[a] = (assumptions[a] ?? 0) + 1;
  return {
    windows: windows.length,
    meanAbsError,
    coverage,
    unreliable: windows.filter((w) => w.performance.estimated?.reliable === false).length,
    assumptions,
  };
}
