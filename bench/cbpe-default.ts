/**
 * Which default for `performance.calibration`: the mean absolute error of the CBPE estimate against
 * the realised accuracy, through the pipeline a user runs, on the demo's data sets and setup
 * (src/cli/demo/datasets.ts: the model a logistic regression fitted on the reference rows, the
 * reference the baseline, the demo's windows).
 *
 * Per data set: every row's prediction (score) and its outcome are indexed into the prediction and
 * outcome streams (bulk, the documents the logger writes; not through the logger, whose delivery is
 * measured elsewhere); then, for `isotonic` and `none`, `buildBaseline` over the reference rows
 * (what `mlmon baseline --from --to` runs: join, profile, calibration) and `runFullAnalysis` over
 * the later windows (what `mlmon analyze` runs; results computed, not written), with that
 * calibration mode. From the model-scope performance documents: mean |estimated − realised
 * accuracy| over all later windows, over those the reliability check left reliable / marked
 * unreliable, and over those whose previous window passed the check (what a user can know before
 * the window's own labels arrive).
 *
 * Usage: ES_URL=http://127.0.0.1:9250 npx tsx bench/cbpe-default.ts [elec|weather ...]
 *        (CBPE_WINDOWS=1 prints every window; CBPE_TEMPERATURE=0.5 makes the model over-confident)
 */
import { Client } from '@elastic/elasticsearch';
import { buildBaseline, describeCalibration } from '../src/analyzer/baseline.js';
import { runFullAnalysis } from '../src/analyzer/run.js';
import { readLabelledCsv } from '../src/cli/demo/dataset.js';
import {
  demoDataPath,
  demoDataset,
  rowTime,
  withFeatureNames,
  type DemoDataset,
} from '../src/cli/demo/datasets.js';
import { fitLogistic, predictProbability } from '../src/cli/demo/logistic.js';
import { installTemplates } from '../src/elastic/templates.js';
import { joinCheckpointId } from '../src/analyzer/join.js';
import { baselineDocumentId } from '../src/profiles/store.js';
import { BASELINES_INDEX, STATE_INDEX, streamNames } from '../src/schema/streams.js';
import type { CalibrationMode } from '../src/stats/performance/calibration.js';

interface WindowFigure {
  start: string;
  estimated: number;
  realised: number;
  reliable: boolean | undefined;
}

/**
 * CBPE_TEMPERATURE=T: scores σ(logit(p) / T) instead of p — T < 1 an over-confident model (what
 * boosted trees and many networks are), to see what calibration does when raw scores are far from
 * probabilities; default 1 (the demo's logistic regression as it is).
 */
const TEMPERATURE = Number(process.env.CBPE_TEMPERATURE ?? 1);
function sharpen(p: number): number {
  if (TEMPERATURE === 1) return p;
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return 1 / (1 + Math.exp(-Math.log(q / (1 - q)) / TEMPERATURE));
}

const mean = (xs: readonly number[]): number | undefined =>
  xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
const f3 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3));

async function index(client: Client, namespace: string, ds: DemoDataset, path: string): Promise<void> {
  const data = withFeatureNames(readLabelledCsv(path), ds);
  const model = fitLogistic(
    data.rows.slice(0, ds.referenceRows),
    data.labels.slice(0, ds.referenceRows),
    data.features,
  );
  const streams = streamNames(namespace);
  const predictions = data.rows.map((row, i) => {
    const score = sharpen(predictProbability(model, row));
    const features: Record<string, number> = {};
    data.features.forEach((f, j) => (features[f] = row[j] as number));
    return {
      '@timestamp': new Date(rowTime(ds, i)).toISOString(),
      model: { name: ds.model.name, version: ds.model.version },
      prediction: { id: `${ds.id}-${i}`, score, label: score >= 0.5 ? '1' : '0' },
      features,
    };
  });
  const outcomes = data.labels.map((label, i) => ({
    '@timestamp': new Date(rowTime(ds, i + ds.labelDelayRows)).toISOString(),
    model: { name: ds.model.name },
    prediction: { id: `${ds.id}-${i}` },
    actual: { label: String(label) },
  }));
  for (const [stream, docs] of [
    [streams.prediction, predictions],
    [streams.outcome, outcomes],
  ] as const) {
    const result = await client.helpers.bulk({
      datasource: docs as Array<Record<string, unknown>>,
      // the logger's document id is the prediction id (the join looks predictions up by it)
      onDocument: (doc) => ({
        create: {
          _index: stream,
          ...(stream === streams.prediction ? { _id: (doc.prediction as { id: string }).id } : {}),
        },
      }),
      flushBytes: 5_000_000,
      concurrency: 2,
    });
    if (result.failed > 0) throw new Error(`${result.failed} documents failed to index into ${stream}`);
  }
}

async function measure(
  client: Client,
  namespace: string,
  ds: DemoDataset,
  rows: number,
  mode: CalibrationMode,
): Promise<{ line: string; figures: WindowFigure[] }> {
  const referenceEnd = new Date(rowTime(ds, ds.referenceRows));
  const built = await buildBaseline(client, {
    namespace,
    model: ds.model.name,
    version: ds.model.version,
    id: mode,
    from: new Date(ds.start),
    to: referenceEnd,
    replace: true,
    calibration: mode,
  });
  const analysis = await runFullAnalysis(client, {
    namespace,
    model: ds.model.name,
    version: ds.model.version,
    from: referenceEnd,
    to: new Date(rowTime(ds, rows)),
    windowMs: ds.window.ms,
    windowSize: ds.window.size,
    anchor: new Date(ds.start),
    reference: { type: 'baseline', id: mode },
    positiveClass: '1',
    threshold: 0.5,
    calibration: mode,
    write: false,
  });
  const figures: WindowFigure[] = [];
  for (const w of analysis.windows) {
    const doc = w.performance.find(
      (d) => (d.performance as { scope?: string } | undefined)?.scope === 'model',
    ) as
      | { performance: { accuracy?: number; estimated?: { accuracy?: number; reliable?: boolean } } }
      | undefined;
    const p = doc?.performance;
    if (p?.accuracy === undefined || p.estimated?.accuracy === undefined) continue;
    figures.push({
      start: w.start,
      estimated: p.estimated.accuracy,
      realised: p.accuracy,
      reliable: p.estimated.reliable,
    });
  }
  return { line: describeCalibration(built.calibration), figures };
}

function summary(figures: readonly WindowFigure[]): string {
  const err = (f: WindowFigure) => Math.abs(f.estimated - f.realised);
  const reliable = figures.filter((f) => f.reliable === true);
  const unreliable = figures.filter((f) => f.reliable === false);
  const afterReliable = figures.filter((_, i) => i > 0 && figures[i - 1]?.reliable === true);
  return [
    `mean |estimated − realised| ${f3(mean(figures.map(err)))} over ${figures.length} windows (max ${f3(Math.max(...figures.map(err)))})`,
    `reliable ${reliable.length}: ${f3(mean(reliable.map(err)))}`,
    `unreliable ${unreliable.length}: ${f3(mean(unreliable.map(err)))}`,
    `previous window reliable ${afterReliable.length}: ${f3(mean(afterReliable.map(err)))}`,
  ].join('; ');
}

async function main(): Promise<void> {
  const ids = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['elec', 'weather'];
  const client = new Client({ node: process.env.ES_URL ?? 'http://127.0.0.1:9250' });
  await installTemplates(client);
  for (const id of ids) {
    const ds = demoDataset(id);
    const path = demoDataPath(ds);
    const namespace = `cbpedefault${id}${Date.now()}`;
    try {
      await index(client, namespace, ds, path);
      for (const mode of ['isotonic', 'none'] as const) {
        const { line, figures } = await measure(client, namespace, ds, ds.rows, mode);
        console.log(`[${id}] calibration ${mode}: ${line}`);
        console.log(`[${id}]   ${summary(figures)}`);
        if (process.env.CBPE_WINDOWS)
          for (const f of figures)
            console.log(
              `[${id}]   ${f.start} estimated ${f3(f.estimated)} realised ${f3(f.realised)} reliable ${f.reliable}`,
            );
      }
    } finally {
      await client.indices.deleteDataStream({ name: `*-mlmon.*-${namespace}` }).catch(() => undefined);
      for (const mode of ['isotonic', 'none'])
        await client
          .delete({
            index: BASELINES_INDEX,
            id: baselineDocumentId({ model: ds.model.name, version: ds.model.version, id: mode }),
          })
          .catch(() => undefined);
      await client
        .delete({ index: STATE_INDEX, id: joinCheckpointId(namespace, ds.model.name) })
        .catch(() => undefined);
    }
  }
  await client.close();
}

await main();
