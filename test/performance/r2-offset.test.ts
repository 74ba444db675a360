/**
 * Issue 28 item 6: R² of a target far from zero. Actuals 1e9 + 10·N(0,1), predictions actual +
 * N(0,1): R² ≈ 1 − 1/100 = 0.99. Σy² − (Σy)²/n cancels there (each y² ≈ 1e18 carries ~128 of
 * rounding, against Σ(y − ȳ)² ≈ 100 per prediction) and gave R² null; the join now stores
 * actual − c (c: the model's first actual) and the job pools those sums. Expected R² from the
 * two-pass formula here: ȳ, then Σ(y − ȳ)² over the same generated numbers (1e9 subtracted first,
 * exactly, as every actual is within a factor 2 of 1e9). Half the labels come with the
 * predictions, half as outcomes, so both join paths write the shift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { runJoin } from '../../src/analyzer/join.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { pooledActualSums } from '../../src/stats/performance/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, normal, seededRandom, writeOutcomes, writePredictions } from './fixtures.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const HOUR = 3_600_000;
const OFFSET = 1e9;

describe('R² with a 1e9 offset', () => {
  const client = testClient();
  const ns = uniqueNamespace('r2off');

  beforeAll(async () => {
    await installTemplates(client);
  }, 60_000);
  afterAll(async () => {
    await dropNamespace(client, ns, ['big']);
    await client.close();
  });

  it('pools shift groups exactly (hand example)', () => {
    // y = 1e9 + {1, 3} summed about c = 1e9, and 1e9 + {5, 7} about c = 1e9 + 4: mean 1e9 + 4,
    // Σ(y − ȳ)² = 9 + 1 + 1 + 9 = 20.
    const pooled = pooledActualSums([
      { n: 2, shift: OFFSET, sum: 4, sumOfSquares: 10 },
      { n: 2, shift: OFFSET + 4, sum: 4, sumOfSquares: 10 },
    ]);
    expect(pooled).toEqual({ sumActual: 0, sumSquaredActual: 20, actualShift: OFFSET + 4 });
  });

  it('the performance job gives the two-pass R² of 1e9 ± 10', async () => {
    const random = seededRandom(28);
    const rows = Array.from({ length: 1000 }, (_, i) => {
      const actual = OFFSET + 10 * normal(random);
      return { id: `big-${i}`, time: T0 + i * 3000, actual, predicted: actual + normal(random) };
    });
    await writePredictions(
      client,
      ns,
      rows.map((r, i) => ({
        '@timestamp': new Date(r.time).toISOString(),
        prediction: { id: r.id, value: r.predicted },
        model: { name: 'big', version: '1' },
        ...(i % 2 === 0 ? { actual: { value: r.actual } } : {}),
      })),
    );
    await writeOutcomes(
      client,
      ns,
      rows
        .filter((_, i) => i % 2 === 1)
        .map((r) => ({
          '@timestamp': new Date(r.time + HOUR).toISOString(),
          prediction: { id: r.id },
          model: { name: 'big', version: '1' },
          actual: { value: r.actual },
        })),
    );
    await runJoin(client, { namespace: ns, model: 'big', refresh: true });
    const { documents } = await runPerformanceJob(client, {
      namespace: ns,
      model: 'big',
      version: '1',
      task: 'regression',
      window: { start: new Date(T0), end: new Date(T0 + HOUR) },
      write: false,
    });
    const model = documents.find((d) => (d.document.performance as { scope: string }).scope === 'model');
    const perf = model?.document.performance as Record<string, unknown>;
    const centred = rows.map((r) => r.actual - OFFSET);
    const mean = centred.reduce((s, y) => s + y, 0) / rows.length;
    const sst = centred.reduce((s, y) => s + (y - mean) ** 2, 0);
    const sse = rows.reduce((s, r) => s + (r.predicted - r.actual) ** 2, 0);
    expect(perf.count).toBe(1000);
    expect(typeof perf.r2).toBe('number');
    expect(Math.abs((perf.r2 as number) - (1 - sse / sst))).toBeLessThan(1e-9);
    expect(perf.r2 as number).toBeGreaterThan(0.98);
  }, 120_000);
});
