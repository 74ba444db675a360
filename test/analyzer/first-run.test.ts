/**
 * "Test the first run, not the second" (issue 12, items 1 and 6): predictions logged with their
 * `actual` and analyzed at once must be counted in full, with exactly the metrics computed here
 * from the raw rows by a reference implementation written in this file (plain loops over the rows,
 * sharing no code with src/stats: confusion counts, Mann-Whitney AUC over all pairs, mean log loss
 * and Brier, multi-class macro F1, RMSE/MAE/R²/MAPE).
 *
 * The predictions are written the way the logger writes them: one bulk request, no refresh.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { runFullAnalysis } from '../../src/analyzer/run.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, seededRandom } from '../performance/fixtures.js';
import {
  binaryRows,
  type BinaryRow,
  expectBinaryReference,
  expectMulticlassReference,
  expectRegressionReference,
  multiclassRows,
  regressionRows,
  T0,
  HOUR,
  logPredictions,
} from './reference-metrics.js';

const window = { from: new Date(T0), to: new Date(T0 + HOUR), windowMs: HOUR };

describe('first analysis after logging labelled predictions', () => {
  const client = testClient();
  const ns = uniqueNamespace('first');

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await dropNamespace(client, ns, ['bin', 'multi', 'reg']);
    await client.close();
  });

  /** Logs the rows' predictions as the logger does, then analyzes their hour at once. */
  const analyzeAtOnce = async (model: string, rows: ReadonlyArray<{ document: BinaryRow['document'] }>) => {
    await logPredictions(
      client,
      ns,
      rows.map((r) => r.document),
    );
    return runFullAnalysis(client, {
      namespace: ns,
      model,
      ...window,
      // no baseline stored: drift is skipped with a note, performance needs none (item 5)
      reference: { type: 'baseline' },
    });
  };
  const performanceOf = (result: Awaited<ReturnType<typeof analyzeAtOnce>>) =>
    result.windows[0]?.performance[0]?.performance as Record<string, number>;

  it(
    'binary: counts all N and gives the reference metrics on the first run',
    { timeout: 240_000 },
    async () => {
      const rows = binaryRows(seededRandom(1), 2000, 'bin');
      const result = await analyzeAtOnce('bin', rows);
      expect(result.join?.created).toBe(2000);
      expect(result.notes).toEqual([
        expect.stringMatching(/^drift and quality skipped for version 1: no baseline "default"/),
      ]);
      expectBinaryReference(performanceOf(result), rows);
    },
  );

  it(
    'multi-class: counts all N and gives the reference metrics on the first run',
    { timeout: 240_000 },
    async () => {
      const rows = multiclassRows(seededRandom(2), 1500, 'multi');
      expectMulticlassReference(performanceOf(await analyzeAtOnce('multi', rows)), rows);
    },
  );

  it(
    'regression: counts all N and gives the reference metrics on the first run',
    { timeout: 240_000 },
    async () => {
      const rows = regressionRows(seededRandom(3), 1500, 'reg');
      expectRegressionReference(performanceOf(await analyzeAtOnce('reg', rows)), rows);
    },
  );

  it(
    'mlmon analyze without a baseline: exit 0, performance computed, one note on how to add a baseline',
    { timeout: 240_000 },
    async () => {
      // model 'bin' was logged by the first test: 2000 labelled predictions in the window
      class Sink extends Writable {
        text = '';
        override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
          this.text += chunk.toString();
          cb();
        }
      }
      const stdout = new Sink();
      const stderr = new Sink();
      const saved = process.env.ES_URL;
      process.env.ES_URL = inject('esUrl');
      try {
        const code = await analyzeCommand(
          [
            '--model',
            'bin',
            '--namespace',
            ns,
            '--from',
            window.from.toISOString(),
            '--to',
            window.to.toISOString(),
            '--window',
            '1h',
          ],
          { stdout, stderr },
        );
        expect(code).toBe(0);
      } finally {
        process.env.ES_URL = saved;
      }
      expect(stderr.text.trim().split('\n')).toEqual([
        `note: drift and quality skipped for version 1: no baseline "default" for model bin version 1 in namespace ${ns}: create one with "mlmon baseline --model bin --version 1 --namespace ${ns} --from <t> --to <t>" (or --file <reference.csv>), or pass --reference-from/--reference-to`,
      ]);
      // every prediction of the window carries its actual: coverage 1
      expect(stdout.text).toMatch(/performance: labelled 1\.00, accuracy \d\.\d{3}/);
    },
  );
});
