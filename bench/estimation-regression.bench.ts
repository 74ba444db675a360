/**
 * Direct loss estimation (estimated MAE and RMSE of a regressor) on data whose truth is known,
 * through the pipeline a user runs: predictions with their actual values bulk-indexed into the
 * prediction stream, `buildBaseline` over the reference (join, profile, loss model with
 * cross-fitting, stored in mlmon-baselines and read back), then `runPerformanceJob` per window with
 * the stored loss model (the estimate computed inside Elasticsearch, nested `range` aggregations per
 * tree) next to the realised metrics of the same window.
 *
 * Data: test/performance/regression-synthetic.ts (y = 2x₁ + x₂ + 1 + σ(x₁)z, σ = 0.5 + 0.5|x₁|,
 * the model predicts the true mean; reference 5,000 rows with x₁ ~ N(0, 1)); per seed
 * - covariate shift: 24 windows of 1,000 rows, x₁ ~ N(μ, 1), μ from 0 to 1;
 * - concept drift: 16 windows of 1,000 rows, x₁ ~ N(0, 1), truth + 0.6·x₁ (realised MAE 0.831 and
 *   RMSE 1.122 expected, against 0.717 and 0.948 on the reference).
 *
 * Figures: mean |estimated − realised| MAE and RMSE per window, the share of windows whose realised
 * value lies inside the ±3σ band (coverage), the share in which the reliability check fires; each
 * against a baseline computed in the same process: the "no estimator" answer, the reference's MAE /
 * RMSE carried forward unchanged (what a user assumes without an estimate). Cost: the time of
 * `runPerformanceJob` with and without the loss model on the same window, alternated, as a ratio.
 *
 * Usage: ES_URL=http://127.0.0.1:9250 npm run bench:estimation-regression   (DLE_SEEDS=3 by default)
 */
import { loadavg } from 'node:os';
import { Client } from '@elastic/elasticsearch';
import { buildBaseline } from '../src/analyzer/baseline.js';
import { runPerformanceJob } from '../src/analyzer/performance.js';
import { installTemplates } from '../src/elastic/templates.js';
import { baselineDocumentId, getBaseline } from '../src/profiles/store.js';
import { BASELINES_INDEX, streamNames } from '../src/schema/streams.js';
import type { DirectLossModel } from '../src/stats/performance/dle.js';
import { regressionRows, type RegressionRow } from '../test/performance/regression-synthetic.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-04-06T00:00:00Z');
const MODEL = 'dle-bench';

interface Tally {
  windows: number;
  maeGap: number;
  rmseGap: number;
  maeGapFlat: number;
  rmseGapFlat: number;
  maeCovered: number;
  rmseCovered: number;
  fired: number;
}
const tally = (): Tally => ({
  windows: 0,
  maeGap: 0,
  rmseGap: 0,
  maeGapFlat: 0,
  rmseGapFlat: 0,
  maeCovered: 0,
  rmseCovered: 0,
  fired: 0,
});

async function bulk(client: Client, index: string, docs: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < docs.length; i += 5000) {
    const operations = docs
      .slice(i, i + 5000)
      .flatMap((d) => [{ create: { _index: index, _id: (d.prediction as { id: string }).id } }, d]);
    const r = await client.bulk({ operations });
    if (r.errors) throw new Error(`bulk into ${index} failed`);
  }
}

const docsOf = (rows: RegressionRow[], start: number, spacing: number, prefix: string) =>
  rows.map((r, i) => ({
    '@timestamp': new Date(start + i * spacing).toISOString(),
    model: { name: MODEL, version: '1' },
    prediction: { id: `${prefix}-${i}`, value: r.predicted },
    features: { x1: r.x1, x2: r.x2 },
    actual: { value: r.actual },
  }));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main(): Promise<void> {
  const client = new Client({ node: process.env.ES_URL ?? 'http://127.0.0.1:9250', requestTimeout: 120_000 });
  const seeds = Number(process.env.DLE_SEEDS ?? 3);
  const load = loadavg().map((x) => x.toFixed(2));
  await installTemplates(client);
  const shift = tally();
  const concept = tally();
  const withMs: number[] = [];
  const withoutMs: number[] = [];
  let fitMs = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const namespace = `dlebench${Date.now().toString(36)}${seed}`;
    const streams = streamNames(namespace);
    try {
      const refEnd = T0 + 2 * HOUR;
      const windows = [
        ...Array.from({ length: 24 }, (_, w) => ({
          rows: regressionRows(1000, 1000 * seed + 100 + w, w / 23),
          concept: false,
        })),
        ...Array.from({ length: 16 }, (_, w) => ({
          rows: regressionRows(1000, 1000 * seed + 500 + w, 0, 0.6),
          concept: true,
        })),
      ];
      await bulk(client, streams.prediction, [
        ...docsOf(regressionRows(5000, 1000 * seed + 1), T0, 1000, 'ref'),
        ...windows.flatMap((w, i) => docsOf(w.rows, refEnd + i * HOUR, 3000, `w${i}`)),
      ]);
      const t = performance.now();
      await buildBaseline(client, {
        namespace,
        model: MODEL,
        version: '1',
        id: namespace,
        from: new Date(T0),
        to: new Date(refEnd),
      });
      fitMs += performance.now() - t;
      const model = (await getBaseline(client, { model: MODEL, version: '1', id: namespace }))?.profile
        .lossModel as DirectLossModel;
      const flatMae = model.absolute.reference.crossFitMean;
      const flatRmse = Math.sqrt(model.squared.reference.crossFitMean);
      for (const [i, w] of windows.entries()) {
        const window = { start: new Date(refEnd + i * HOUR), end: new Date(refEnd + (i + 1) * HOUR) };
        const run = async (lossModel?: DirectLossModel) => {
          const s = performance.now();
          const r = await runPerformanceJob(client, {
            namespace,
            model: MODEL,
            version: '1',
            task: 'regression',
            window,
            ...(lossModel ? { lossModel } : {}),
            write: false,
          });
          return {
            ms: performance.now() - s,
            perf: r.documents[0]?.document.performance as Record<string, unknown>,
          };
        };
        // Alternate the order so neither variant always runs on a warm cache.
        let without;
        let withModel;
        if (i % 2) {
          without = await run();
          withModel = await run(model);
        } else {
          withModel = await run(model);
          without = await run();
        }
        withoutMs.push(without.ms);
        withMs.push(withModel.ms);
        const perf = withModel.perf;
        const est = perf.estimated as Record<string, number | boolean>;
        const mae = perf.mae as number;
        const rmse = perf.rmse as number;
        const t2 = w.concept ? concept : shift;
        t2.windows++;
        t2.maeGap += Math.abs((est.mae as number) - mae);
        t2.rmseGap += Math.abs((est.rmse as number) - rmse);
        t2.maeGapFlat += Math.abs(flatMae - mae);
        t2.rmseGapFlat += Math.abs(flatRmse - rmse);
        if (mae >= (est.mae_lower as number) && mae <= (est.mae_upper as number)) t2.maeCovered++;
        if (rmse >= (est.rmse_lower as number) && rmse <= (est.rmse_upper as number)) t2.rmseCovered++;
        if (est.reliable === false) t2.fired++;
      }
    } finally {
      await client.indices.deleteDataStream({ name: `*-mlmon.*-${namespace}` }).catch(() => undefined);
      await client
        .delete({
          index: BASELINES_INDEX,
          id: baselineDocumentId({ model: MODEL, version: '1', id: namespace }),
        })
        .catch(() => undefined);
      await client.delete({ index: 'mlmon-state', id: `join:${namespace}:${MODEL}` }).catch(() => undefined);
    }
  }
  const f = (x: number) => x.toFixed(4);
  const pct = (k: number, n: number) => `${((100 * k) / n).toFixed(0)} % (${k}/${n})`;
  console.log(`# estimation-regression: ${seeds} seeds, load average at start ${load.join(' ')}\n`);
  console.log(
    '| case | windows | mean \\|est − realised\\| MAE (flat reference) | RMSE (flat reference) | MAE band coverage | RMSE band coverage | check fired |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, t] of [
    ['covariate shift', shift],
    ['concept drift', concept],
  ] as const) {
    console.log(
      `| ${name} | ${t.windows} | ${f(t.maeGap / t.windows)} (${f(t.maeGapFlat / t.windows)}, ratio ${(t.maeGap / t.maeGapFlat).toFixed(2)}) | ${f(t.rmseGap / t.windows)} (${f(t.rmseGapFlat / t.windows)}, ratio ${(t.rmseGap / t.rmseGapFlat).toFixed(2)}) | ${pct(t.maeCovered, t.windows)} | ${pct(t.rmseCovered, t.windows)} | ${pct(t.fired, t.windows)} |`,
    );
  }
  console.log(
    `\nrunPerformanceJob per window (1,000 rows): median ${median(withMs).toFixed(1)} ms with the loss model (100 trees as nested range aggregations), ${median(withoutMs).toFixed(1)} ms without; ratio ${(median(withMs) / median(withoutMs)).toFixed(2)}. buildBaseline (join 45,000 labelled predictions, profile, loss model on 5,000 rows): ${(fitMs / seeds / 1000).toFixed(1)} s per seed. Load average at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}.`,
  );
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
