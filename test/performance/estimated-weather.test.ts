/**
 * Calibrated CBPE on the second real data set: NOAA daily weather at Bellevue, Nebraska (18 159
 * days, target = rain; data/README.md), one prediction a day, windows of 91 days
 * (a quarter; 199 whole windows). A logistic regression fitted once on the first 8 quarters
 * (≈ 2 years), its scores calibrated on the next 8 quarters' labels (the reference period), then
 * every quarter estimated with that calibration (calibrated-estimate.ts checks each window's
 * estimate against the expectation computed here and its realised accuracy against the count).
 * The figures are printed and recorded in docs/performance.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJoin } from '../../src/analyzer/join.js';
import { readLabelledCsv } from '../../src/cli/demo/dataset.js';
import { DEMO_DATASETS, demoDataPath } from '../../src/cli/demo/datasets.js';
import { fitLogistic, predictProbability } from '../../src/cli/demo/logistic.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { baselineDocumentId } from '../../src/profiles/store.js';
import { BASELINES_INDEX } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { calibratedStudy, describeSummary, summarise } from './calibrated-estimate.js';
import { dropNamespace, writePredictions } from './fixtures.js';

const WEATHER = demoDataPath(DEMO_DATASETS.weather);
// the demo's start date (a day per row); quarters of 91 days as windows here (the demo uses 52 weeks)
const T0 = DEMO_DATASETS.weather.start;
const DAY = DEMO_DATASETS.weather.stepMs;
const QUARTER = 91; // days per window
const TRAINING = 8; // quarters
const REFERENCE = 8; // quarters after training

describe('calibrated estimate vs realised accuracy on weather.csv', () => {
  const client = testClient();
  const ns = uniqueNamespace('perfw');
  const data = readLabelledCsv(WEATHER);
  const windows = Math.floor(data.rows.length / QUARTER);
  const rows = windows * QUARTER;
  const training = TRAINING * QUARTER;
  const model = fitLogistic(data.rows.slice(0, training), data.labels.slice(0, training), data.features);
  const scores = data.rows.slice(0, rows).map((row) => predictProbability(model, row));

  beforeAll(async () => {
    expect(data.rows).toHaveLength(18_159); // README: 18,159 rows
    await installTemplates(client);
    const docs = scores.map((score, i) => ({
      '@timestamp': new Date(T0 + i * DAY).toISOString(),
      prediction: { id: `weather-${i}`, score, label: score >= 0.5 ? '1' : '0' },
      model: { name: 'weather', version: '1' },
      actual: { label: String(data.labels[i]) },
    }));
    await writePredictions(client, ns, docs);
    const joined = await runJoin(client, { namespace: ns, model: 'weather', pageSize: 5000, refresh: true });
    expect(joined.created).toBe(rows);
  }, 900_000);
  afterAll(async () => {
    await dropNamespace(client, ns, ['weather']);
    await client
      .delete({
        index: BASELINES_INDEX,
        id: baselineDocumentId({ model: 'weather', version: '1', id: ns, namespace: ns }),
      })
      .catch(() => undefined);
    await client.close();
  });

  it('per quarter: calibrated estimate, 3σ band and reliability', async () => {
    const {
      calibration,
      figures,
      reference: whole,
    } = await calibratedStudy({
      client,
      namespace: ns,
      model: 'weather',
      version: '1',
      scores,
      labels: data.labels,
      t0: T0,
      step: DAY,
      perWindow: QUARTER,
      reference: { first: TRAINING, end: TRAINING + REFERENCE },
      windows,
    });
    const later = summarise(figures, TRAINING + REFERENCE);
    console.log(
      `[weather] calibration: ${calibration.scores.length} knots from ${calibration.count} labelled predictions; ` +
        `over the reference quarters together: expected ${whole.expected.toFixed(4)}, realised ${whole.realised.toFixed(4)}\n` +
        describeSummary(`weather quarters ${TRAINING + REFERENCE + 1}-${windows}`, later),
    );
    expect(later.windows).toBe(windows - TRAINING - REFERENCE);
    // See estimated-elec.test.ts: the isotonic fit reproduces the reference period's accuracy.
    expect(Math.abs(whole.expected - whole.realised)).toBeLessThan(0.01);
    // The verdict is informative: where it says reliable, the estimate is much closer.
    expect(later.unreliable).toBeGreaterThan(0);
    expect(later.reliableMae!).toBeLessThan(later.unreliableMae! / 2);
  }, 900_000);
});
