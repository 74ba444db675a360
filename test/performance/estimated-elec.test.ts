/**
 * Estimated performance (CBPE) on a real data set: the Elec2 electricity prices (45 312 half-hours,
 * 134 weeks), one prediction per half-hour, weekly windows, two versions of a logistic regression:
 * - version 1, fitted once on the first 4 weeks (the model left alone in production);
 * - version 2, refitted every week on the 4 weeks before it (from week 5 on).
 * Per window and version the job's estimate must equal the CBPE expectation computed here from the
 * raw scores, its realised accuracy the loop-counted one, and we report how far the estimate is from
 * the realised accuracy (mean absolute error over the weeks). CBPE assumes the scores stay
 * calibrated; Elec2 drifts hard (the Victoria columns are constant for the first 52 weeks), so the
 * frozen model's estimate is far off, and the regularly refitted one is much closer, as asserted.
 *
 * Then the calibrated estimate (calibrated-estimate.ts): version 1's scores calibrated on weeks 5–8
 * (the 4 weeks after its training, their labels known: NannyML's "reference period"), the map
 * stored with the baseline, and every week estimated again with it, with its 3σ band and the
 * reliability verdict; the figures are printed and recorded in docs/performance.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledCsv } from '../../src/cli/demo/dataset.js';
import { DEMO_DATASETS, demoDataPath } from '../../src/cli/demo/datasets.js';
import { fitLogistic, predictProbability } from '../../src/cli/demo/logistic.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { runJoin } from '../../src/analyzer/join.js';
import { runPerformanceJob, type PerformanceResult } from '../../src/analyzer/performance.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { baselineDocumentId } from '../../src/profiles/store.js';
import { BASELINES_INDEX } from '../../src/schema/streams.js';
import { calibratedStudy, describeSummary, summarise } from './calibrated-estimate.js';
import { dropNamespace, writePredictions } from './fixtures.js';

const ELEC = demoDataPath(DEMO_DATASETS.elec);
const T0 = Date.parse('2026-01-05T00:00:00Z'); // a Monday
const HALF_HOUR = 1_800_000;
const WEEK = 7 * 24 * 3_600_000;
const TRAINING_WEEKS = 4;

describe('estimated vs realised accuracy on elec.csv', () => {
  const client = testClient();
  const ns = uniqueNamespace('perfe');
  const data = readLabelledCsv(ELEC);
  const perWeek = WEEK / HALF_HOUR;
  const training = TRAINING_WEEKS * perWeek;
  const weeks = Math.floor(data.rows.length / perWeek);
  const frozen = fitLogistic(data.rows.slice(0, training), data.labels.slice(0, training), data.features);
  const scores: Record<string, number[]> = {
    '1': data.rows.slice(0, weeks * perWeek).map((row) => predictProbability(frozen, row)),
    '2': [],
  };
  for (let w = TRAINING_WEEKS; w < weeks; w++) {
    const from = (w - TRAINING_WEEKS) * perWeek;
    const to = w * perWeek;
    const refit = fitLogistic(data.rows.slice(from, to), data.labels.slice(from, to), data.features, {
      iterations: 200,
    });
    for (let i = to; i < to + perWeek; i++) scores['2']!.push(predictProbability(refit, data.rows[i]!));
  }
  /** score of prediction i (row index) for a version; version 2 starts at week TRAINING_WEEKS */
  const scoreOf = (version: string, i: number): number | undefined =>
    version === '1' ? scores['1']![i] : scores['2']![i - training];

  beforeAll(async () => {
    await installTemplates(client);
    const docs = (['1', '2'] as const).flatMap((version) =>
      data.rows.slice(0, weeks * perWeek).flatMap((_, i) => {
        const score = scoreOf(version, i);
        if (score === undefined) return [];
        return [
          {
            '@timestamp': new Date(T0 + i * HALF_HOUR).toISOString(),
            prediction: { id: `elec-${version}-${i}`, score, label: score >= 0.5 ? '1' : '0' },
            model: { name: 'elec', version },
            actual: { label: String(data.labels[i]) },
          },
        ];
      }),
    );
    await writePredictions(client, ns, docs);
    const joined = await runJoin(client, { namespace: ns, model: 'elec', pageSize: 5000, refresh: true });
    expect(joined.created).toBe(docs.length);
  }, 900_000);
  afterAll(async () => {
    await dropNamespace(client, ns, ['elec']);
    await client
      .delete({
        index: BASELINES_INDEX,
        id: baselineDocumentId({ model: 'elec', version: '1', id: ns, namespace: ns }),
      })
      .catch(() => undefined);
    await client.close();
  });

  it('per week: estimate = CBPE expectation of the scores, realised = counted; prints the MAE', async () => {
    const errors: Record<string, number[]> = { '1': [], '2': [] };
    // Weeks are independent jobs: run them a few at a time.
    const jobs: Array<{ w: number; documents: PerformanceResult[] }> = [];
    for (let first = 0; first < weeks; first += 8) {
      const batch = Array.from({ length: Math.min(8, weeks - first) }, (_, k) => first + k);
      for (const result of await Promise.all(
        batch.map(async (w) => {
          const window = { start: new Date(T0 + w * WEEK), end: new Date(T0 + (w + 1) * WEEK) };
          const { documents } = await runPerformanceJob(client, {
            namespace: ns,
            model: 'elec',
            task: 'binary',
            window,
          });
          return { w, documents };
        }),
      ))
        jobs.push(result);
    }
    for (const { w, documents } of jobs) {
      for (const doc of documents) {
        const version = (doc.document.model as { version: string }).version;
        const perf = doc.document.performance as {
          count: number;
          accuracy: number;
          estimated: { accuracy: number };
        };
        let expectedCorrect = 0; // Σ P(prediction is right) if the score is calibrated
        let correct = 0;
        for (let i = w * perWeek; i < (w + 1) * perWeek; i++) {
          const s = scoreOf(version, i) as number;
          expectedCorrect += s >= 0.5 ? s : 1 - s;
          if ((s >= 0.5 ? 1 : 0) === data.labels[i]) correct++;
        }
        expect(perf.count).toBe(perWeek);
        expect(perf.accuracy).toBeCloseTo(correct / perWeek, 12);
        expect(perf.estimated.accuracy).toBeCloseTo(expectedCorrect / perWeek, 9);
        errors[version]!.push(Math.abs(perf.estimated.accuracy - perf.accuracy));
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const frozenErrors = errors['1']!;
    const refitErrors = errors['2']!;
    expect(frozenErrors).toHaveLength(weeks);
    expect(refitErrors).toHaveLength(weeks - TRAINING_WEEKS);
    const frozenLater = mean(frozenErrors.slice(TRAINING_WEEKS));
    console.log(
      `[elec CBPE] ${weeks} weekly windows, |estimated − realised accuracy|:\n` +
        `  v1 frozen after ${TRAINING_WEEKS} weeks: MAE ${mean(frozenErrors).toFixed(4)} over all weeks, ` +
        `${mean(frozenErrors.slice(0, TRAINING_WEEKS)).toFixed(4)} on its training weeks, ` +
        `${frozenLater.toFixed(4)} on the ${weeks - TRAINING_WEEKS} later weeks (max ${Math.max(...frozenErrors).toFixed(4)})\n` +
        `  v2 refitted weekly on the previous ${TRAINING_WEEKS} weeks: MAE ${mean(refitErrors).toFixed(4)} ` +
        `over ${refitErrors.length} weeks (max ${Math.max(...refitErrors).toFixed(4)})`,
    );
    // CBPE is only as good as the calibration: a model kept current is estimated far better.
    expect(mean(refitErrors)).toBeLessThan(frozenLater / 2);
  }, 900_000);

  it('calibrated on the 4 weeks after training: estimate, 3σ band and reliability per week', async () => {
    const {
      calibration,
      figures,
      reference: whole,
    } = await calibratedStudy({
      client,
      namespace: ns,
      model: 'elec',
      version: '1',
      scores: scores['1']!,
      labels: data.labels,
      t0: T0,
      step: HALF_HOUR,
      perWindow: perWeek,
      reference: { first: TRAINING_WEEKS, end: 2 * TRAINING_WEEKS },
      windows: weeks,
    });
    const later = summarise(figures, 2 * TRAINING_WEEKS);
    console.log(
      `[elec] calibration: ${calibration.scores.length} knots from ${calibration.count} labelled predictions; ` +
        `over the reference weeks together: expected ${whole.expected.toFixed(4)}, realised ${whole.realised.toFixed(4)}\n` +
        describeSummary(`elec weeks ${2 * TRAINING_WEEKS + 1}-${weeks}`, later),
    );
    // Isotonic regression matches the positives of every constant block it fits, so over the whole
    // reference period the calibrated expectation equals the realised accuracy, up to the one block
    // that straddles the threshold and the 0.001 binning.
    expect(Math.abs(whole.expected - whole.realised)).toBeLessThan(0.01);
    // Afterwards Elec2's concept drift shows: windows whose estimate failed are marked, and the
    // estimate is much closer where it is not marked than where it is.
    expect(later.unreliable).toBeGreaterThan(0);
    expect(later.reliableMae!).toBeLessThan(later.unreliableMae! / 2);
  }, 900_000);
});
