/**
 * CBPE against known truth (issue 20): for each case, the label-free estimate of every analysis
 * window next to the realised metric, through the product's path (test/helpers/known-truth-run.ts:
 * predictions with their actuals indexed, buildBaseline over the reference windows — join, profile,
 * calibration — and the performance job per window).
 *
 * Cases (test/helpers/known-truth.ts): binary and 3-class data with Gaussian classes, whose true
 * P(y | x) is the model's output (a well-specified logistic model), under covariate shift, prior
 * shift and concept drift; the binary covariate case once more with an over-confident model
 * (logits / 0.6) estimated with and without the reference calibration; and the shared ELEC2 and
 * weather data sets with the demo's setup (logistic regression fitted on the reference rows,
 * src/cli/demo/datasets.ts).
 *
 * Per case: mean |estimated − realised| per window for each estimated metric, the share of windows
 * whose realised value lies in the estimate's 95 % band (coverage), the share the reliability check
 * marked unreliable, and how often each failed assumption was named.
 *
 * Usage: ES_URL=http://127.0.0.1:9250 npm run bench:estimation [-- case ...]
 *        (cases: binary-covariate binary-overconfident binary-prior binary-concept multi-covariate
 *         multi-prior multi-concept elec weather; default all)
 */
import { loadavg } from 'node:os';
import { Client } from '@elastic/elasticsearch';
import { readLabelledCsv } from '../src/cli/demo/dataset.js';
import { demoDataPath, demoDataset } from '../src/cli/demo/datasets.js';
import { fitLogistic, predictProbability } from '../src/cli/demo/logistic.js';
import { baselineDocumentId } from '../src/profiles/store.js';
import { BASELINES_INDEX } from '../src/schema/streams.js';
import { knownTruthRows, type KnownTruthOptions, type KnownTruthRow } from '../test/helpers/known-truth.js';
import {
  analyzeKnownTruth,
  indexKnownTruth,
  knownTruthFigures,
  type KnownTruthFigures,
  type KnownTruthRunOptions,
} from '../test/helpers/known-truth-run.js';

interface Case {
  name: string;
  rows: () => KnownTruthRow[];
  rowsPerWindow: number;
  referenceWindows: number;
  classes: number;
  calibration?: 'isotonic' | 'none';
  t0?: number;
  rowMs?: number;
  /** figures over analysis windows from this one on (concept drift: after the change) */
  from?: number;
}

const synthetic = (name: string, o: KnownTruthOptions, extra: Partial<Case> = {}): Case => ({
  name,
  rows: () => knownTruthRows(o),
  rowsPerWindow: o.rowsPerWindow,
  referenceWindows: o.referenceWindows,
  classes: o.classes,
  ...extra,
});

const W = { rowsPerWindow: 1000, referenceWindows: 5, analysisWindows: 30 };

function dataset(id: 'elec' | 'weather'): Case {
  const ds = demoDataset(id);
  const path = demoDataPath(ds);
  const rowsPerWindow = Math.round(ds.window.ms / ds.stepMs);
  return {
    name: id,
    rowsPerWindow,
    referenceWindows: ds.referenceRows / rowsPerWindow,
    classes: 2,
    t0: ds.start,
    rowMs: ds.stepMs,
    rows: () => {
      const data = readLabelledCsv(path);
      const model = fitLogistic(
        data.rows.slice(0, ds.referenceRows),
        data.labels.slice(0, ds.referenceRows),
        data.features,
      );
      return data.rows.map((row, i) => {
        const p = predictProbability(model, row);
        return {
          window: Math.floor(i / rowsPerWindow),
          features: row,
          actual: String(data.labels[i]),
          probabilities: [1 - p, p],
          predicted: p >= 0.5 ? '1' : '0',
        };
      });
    },
  };
}

const CASES: Case[] = [
  synthetic('binary-covariate', { case: 'covariate', classes: 2, ...W }),
  synthetic('binary-overconfident', { case: 'covariate', classes: 2, temperature: 0.6, ...W }),
  synthetic(
    'binary-overconfident-raw',
    { case: 'covariate', classes: 2, temperature: 0.6, ...W },
    {
      calibration: 'none',
    },
  ),
  synthetic('binary-prior', { case: 'prior', classes: 2, ...W }),
  synthetic('binary-concept', { case: 'concept', classes: 2, changeAt: 10, ...W }, { from: 10 }),
  synthetic('multi-covariate', { case: 'covariate', classes: 3, ...W }),
  synthetic('multi-prior', { case: 'prior', classes: 3, ...W }),
  synthetic('multi-concept', { case: 'concept', classes: 3, changeAt: 10, ...W }, { from: 10 }),
  dataset('elec'),
  dataset('weather'),
];

const f3 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3));

function line(c: Case, f: KnownTruthFigures): string {
  const metrics =
    c.classes === 2 ? ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'] : ['accuracy', 'f1_macro'];
  const mae = metrics.map((m) => `${m} ${f3(f.meanAbsError[m])}`).join(', ');
  const cov = metrics
    .filter((m) => f.coverage[m] !== undefined)
    .map((m) => `${m} ${f3(f.coverage[m])}`)
    .join(', ');
  const assumptions = Object.entries(f.assumptions)
    .map(([a, n]) => `${a} ${n}`)
    .join(', ');
  return `| ${c.name} | ${f.windows} | ${mae} | ${cov} | ${f3(f.unreliable / f.windows)} | ${assumptions || '-'} |`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const cases = wanted.length > 0 ? CASES.filter((c) => wanted.some((w) => c.name.startsWith(w))) : CASES;
  const client = new Client({ node: process.env.ES_URL ?? 'http://127.0.0.1:9250', requestTimeout: 120_000 });
  console.log(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    '| case | windows | mean \\|estimated − realised\\| | 95 % band coverage | unreliable | failed assumptions |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const c of cases) {
    const namespace = `estbench${c.name.replace(/[^a-z]/g, '')}${Date.now()}`;
    const o: KnownTruthRunOptions = {
      client,
      namespace,
      rows: c.rows(),
      rowsPerWindow: c.rowsPerWindow,
      referenceWindows: c.referenceWindows,
      classes: c.classes,
      calibration: c.calibration,
      t0: c.t0,
      rowMs: c.rowMs,
    };
    const started = Date.now();
    try {
      await indexKnownTruth(o);
      const windows = await analyzeKnownTruth(o);
      const metrics = c.classes === 2 ? undefined : ['accuracy', 'f1_macro'];
      console.log(line(c, knownTruthFigures(windows.slice(c.from ?? 0), metrics)));
      console.error(`  (${c.name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } finally {
      await client.indices.deleteDataStream({ name: `*-mlmon.*-${namespace}` }).catch(() =>
        // the integ-test distribution has no _data_stream API: drop the backing indices
        client.indices
          .delete({ index: `.ds-*-${namespace}-*`, ignore_unavailable: true })
          .catch(() => undefined),
      );
      await client
        .delete({
          index: BASELINES_INDEX,
          id: baselineDocumentId({ model: 'known-truth', version: '1', id: namespace }),
        })
        .catch(() => undefined);
    }
  }
  console.log(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  await client.close();
}

await main();
