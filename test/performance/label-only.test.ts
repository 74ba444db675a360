/**
 * Issue 27 item 3a: a label-only classifier (KServe V1 `{"predictions": [1, 0, 2]}` mapped to
 * `prediction.label`, no score, no probabilities) cannot be estimated without labels, so its
 * performance documents carry no `performance.estimated` at all (on main: accuracy 0 with the band
 * [0, 0], because another model of the namespace logs class probabilities, the job asked for them,
 * and a class with no probability mass was taken as never right), and say why
 * (`performance.not_estimated`). Its realised accuracy is still computed from its labels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { detectTask } from '../../src/analyzer/run.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writePredictions } from './fixtures.js';

const client = testClient();
const namespace = uniqueNamespace('labelonly');
const t0 = Date.UTC(2026, 1, 1);

afterAll(async () => {
  await dropNamespace(client, namespace, ['label-only', 'with-probabilities']);
  await client.close();
});

describe('a label-only classifier', () => {
  it('gets no estimated performance, and the document says why', async () => {
    await installTemplates(client);
    // 300 predictions, classes 0/1/2 as integers, right when i % 3 !== 0: realised accuracy 2/3
    const docs = Array.from({ length: 300 }, (_, i) => ({
      '@timestamp': new Date(t0 + i * 1000).toISOString(),
      model: { name: 'label-only', version: '1' },
      features: { x: i % 7 },
      prediction: { id: `lo-${i}`, label: i % 3 },
      actual: { label: i % 3 === 0 ? (i + 1) % 3 : i % 3 },
    }));
    // another model of the namespace logs class probabilities (field caps then lists classes)
    const other = Array.from({ length: 10 }, (_, i) => ({
      '@timestamp': new Date(t0 + i * 1000).toISOString(),
      model: { name: 'with-probabilities', version: '1' },
      prediction: { id: `wp-${i}`, label: '1', probabilities: { '0': 0.2, '1': 0.7, '2': 0.1 } },
    }));
    await writePredictions(client, namespace, [...docs, ...other]);
    const task = await detectTask(client, namespace, 'label-only');
    expect(task).toBe('multiclass');
    const result = await runPerformanceJob(client, {
      namespace,
      model: 'label-only',
      task: 'multiclass',
      window: { start: new Date(t0), end: new Date(t0 + 3600_000) },
      write: false,
    });
    const model = result.documents.find(
      (d) => (d.document.performance as { scope?: string }).scope === 'model',
    )?.document.performance as Record<string, unknown>;
    expect(model).toBeDefined();
    expect(model.estimated).toBeUndefined();
    expect(model.not_estimated).toEqual({
      reason: 'no_probabilities',
      message: expect.stringMatching(/no class probabilities/),
    });
  }, 120_000);
});
