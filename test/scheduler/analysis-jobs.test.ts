/**
 * The scheduler running the real analysis jobs (drift, quality, performance, service) on real
 * prediction and outcome documents: one document per window and feature, drift found where the
 * data shifts and not where it does not, accuracy equal to the count done here, and a second pass
 * that adds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { profileFromElasticsearch } from '../../src/profiles/from-elasticsearch.js';
import { saveBaseline } from '../../src/profiles/store.js';
import { validateConfig } from '../../src/schema/config.js';
import { createJsonLogger } from '../../src/scheduler/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { defaultJobRegistry } from '../../src/scheduler/index.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { bulkCreate, documentsOf, dropNamespace, normal, seededRandom } from '../performance/fixtures.js';

const HOUR = 3_600_000;
const PER_HOUR = 400;

describe('scheduler with the analysis jobs', () => {
  const client = testClient();
  const namespace = uniqueNamespace('schedjobs');
  const model = 'credit';
  // Reference: hours 0–1; window A (hour 2): same distribution; window B (hour 3): x shifted by 1.5 sd.
  const base = alignDown(Date.now(), HOUR) - 6 * HOUR;
  const expectedAccuracy = new Map<number, number>();

  beforeAll(async () => {
    await installTemplates(client);
    const random = seededRandom(42);
    const predictions: Array<{ id: string; document: Record<string, unknown> }> = [];
    const outcomes: Array<{ document: Record<string, unknown> }> = [];
    for (let hour = 0; hour < 4; hour++) {
      let correct = 0;
      for (let i = 0; i < PER_HOUR; i++) {
        const x = normal(random) + (hour === 3 ? 1.5 : 0);
        const score = 1 / (1 + Math.exp(-x));
        const label = score >= 0.5 ? '1' : '0';
        const actual = random() < score ? '1' : '0';
        const at = base + hour * HOUR + Math.floor((i * HOUR) / PER_HOUR);
        const id = `${namespace}-${hour}-${i}`;
        predictions.push({
          id,
          document: {
            '@timestamp': new Date(at).toISOString(),
            prediction: { id, label, score },
            model: { name: model, version: '1' },
            features: { x, segment: i % 3 === 0 ? 'a' : 'b' },
            event: { duration: 1_000_000 + (i % 10) * 100_000 },
          },
        });
        outcomes.push({
          document: {
            '@timestamp': new Date(at + 60_000).toISOString(),
            prediction: { id },
            model: { name: model, version: '1' },
            actual: { label: actual },
          },
        });
        if (label === actual) correct++;
      }
      expectedAccuracy.set(base + hour * HOUR, correct / PER_HOUR);
    }
    await bulkCreate(client, `logs-mlmon.prediction-${namespace}`, predictions);
    await bulkCreate(client, `logs-mlmon.outcome-${namespace}`, outcomes);
    const profile = await profileFromElasticsearch(client, {
      namespace,
      model,
      version: '1',
      from: new Date(base),
      to: new Date(base + 2 * HOUR),
    });
    await saveBaseline(client, { model, version: '1', id: 'training', namespace }, profile, {
      replace: true,
    });
  });

  afterAll(async () => {
    await dropNamespace(client, namespace, [model]);
    await client.close();
  });

  const scheduler = (owner: string) =>
    new Scheduler({
      config: validateConfig(
        {
          namespace,
          scheduler: { owner, lockTtl: '60s' },
          models: [
            {
              name: model,
              versions: ['1'],
              baseline: 'training',
              window: '1h',
              delay: '0s',
              start: new Date(base + 2 * HOUR).toISOString(),
              jobs: ['drift', 'quality', 'performance', 'service'],
              performance: { positiveClass: '1', threshold: 0.5, bounds: { accuracy: { min: 0.6 } } },
            },
          ],
        },
        { env: {} },
      ),
      client,
      registry: defaultJobRegistry(),
      log: createJsonLogger({ write: () => true } as unknown as NodeJS.WritableStream, { level: 'error' }),
    });

  it('writes one document per window and feature, flags the shifted window, and computes accuracy', async () => {
    const first = await scheduler('one').runDue();
    expect(first.failed).toBe(0);
    await client.indices.refresh({ index: `metrics-mlmon.*-${namespace}` });

    type Drift = {
      window: { start: string };
      feature: { name: string };
      drift: { detected: boolean; ks?: number };
    };
    const drift = await documentsOf<Drift>(client, `metrics-mlmon.drift-${namespace}`);
    const x = (hour: number) =>
      drift.filter(
        (d) =>
          d.source.feature.name === 'x' &&
          d.source.window.start === new Date(base + hour * HOUR).toISOString(),
      );
    expect(x(2)).toHaveLength(1);
    expect(x(3)).toHaveLength(1);
    expect(x(2)[0]?.source.drift.detected).toBe(false);
    expect(x(3)[0]?.source.drift.detected).toBe(true);
    // Exactly one drift document per (window, field): no duplicates from the quality job.
    const keys = drift.map((d) => `${d.source.window.start}|${d.source.feature.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    const quality = await documentsOf<Drift>(client, `metrics-mlmon.quality-${namespace}`);
    const qkeys = quality.map((d) => `${d.source.window.start}|${d.source.feature.name}`);
    expect(new Set(qkeys).size).toBe(qkeys.length);
    expect(qkeys).toContain(`${new Date(base + 3 * HOUR).toISOString()}|x`);

    type Perf = {
      window: { start: string };
      performance: { scope?: string; accuracy?: number; label_coverage?: number; degraded?: boolean };
    };
    const performance = (await documentsOf<Perf>(client, `metrics-mlmon.performance-${namespace}`)).filter(
      (d) => d.source.performance.scope === 'model',
    );
    for (const hour of [2, 3]) {
      const doc = performance.find(
        (d) => d.source.window.start === new Date(base + hour * HOUR).toISOString(),
      );
      expect(doc?.source.performance.accuracy).toBeCloseTo(
        expectedAccuracy.get(base + hour * HOUR) as number,
        12,
      );
      expect(doc?.source.performance.label_coverage).toBe(1);
    }

    type Service = { window: { start: string; count?: number }; service: { latency: { p50: number } } };
    const service = await documentsOf<Service>(client, `metrics-mlmon.service-${namespace}`);
    const hour2 = service.find((d) => d.source.window.start === new Date(base + 2 * HOUR).toISOString());
    // event.duration cycles through 1.0 … 1.9 ms: the median is 1.4 or 1.5 ms.
    expect(hour2?.source.service.latency.p50).toBeGreaterThanOrEqual(1.4);
    expect(hour2?.source.service.latency.p50).toBeLessThanOrEqual(1.5);

    // A second scheduler finds every window done: nothing is processed, nothing is added.
    const countBefore = await client.count({ index: `metrics-mlmon.*-${namespace}` });
    const second = await scheduler('two').runDue();
    expect(second.processed).toBe(0);
    await client.indices.refresh({ index: `metrics-mlmon.*-${namespace}` });
    const countAfter = await client.count({ index: `metrics-mlmon.*-${namespace}` });
    expect(countAfter.count).toBe(countBefore.count);
  });
});
