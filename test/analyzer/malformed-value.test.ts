/**
 * Issue 27 item 3b: one malformed value in a window (a string where the reference had numbers,
 * counted by the logger in `mlmon.quality.type_mismatch`) is a data-quality finding, not drift.
 * On main it set `drift.detected: true` (any type-mismatch rate above 0) and the drift rule, which
 * fires on `drift.detected`, matched: one bad row paged someone.
 *
 * Data: hour 0 is the reference, x ~ N(0, 1) and colour red/blue half and half; hours 1 and 2 have
 * the same distributions (seeded), hour 1 with 1 of 1000 rows malformed (x missing, listed as a type
 * mismatch), hour 2 with 100 of 1000 (10 %). Expected: x not drifted in either window; the quality
 * documents hold rate 0.001 with severity `low` and 0.1 with severity `high` (the cuts of
 * evaluate.ts `qualitySeverity`); the drift rule's query, run as Kibana runs it (test/kibana/
 * emulate.ts) against the written documents, matches nothing; the quality rule (rate > 0.05) matches
 * hour 2 only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyzeResult } from '../../src/analyzer/job.js';
import { EXAMPLE_ALERT_SETTINGS } from '../../src/kibana/export.js';
import { rules, type Rule } from '../../src/kibana/rules.js';
import { streamNames } from '../../src/schema/streams.js';
import { indexProfileAnalyze } from '../helpers/analysis.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { normal, seededRandom, type PredictionInput } from '../helpers/predictions.js';
import { runRule } from '../kibana/emulate.js';

const client = testClient();
const namespace = uniqueNamespace('malformed');
const T0 = Date.UTC(2026, 2, 1);
const HOUR = 3600_000;
let result: AnalyzeResult;

function hour(h: number, malformed: number): PredictionInput[] {
  const rand = seededRandom(100 + h);
  return Array.from({ length: 1000 }, (_, i) => {
    const bad = i < malformed;
    return {
      timestamp: new Date(T0 + h * HOUR + Math.floor((i * HOUR) / 1000)),
      features: { ...(bad ? {} : { x: normal(rand) }), color: rand() < 0.5 ? 'red' : 'blue' },
      ...(bad ? { quality: { type_mismatch: ['x'] } } : {}),
    };
  });
}

beforeAll(async () => {
  const run = await indexProfileAnalyze(client, {
    namespace,
    rows: [...hour(0, 0), ...hour(1, 1), ...hour(2, 100)],
    reference: { profileFrom: new Date(T0), profileTo: new Date(T0 + HOUR) },
    from: new Date(T0 + HOUR),
    to: new Date(T0 + 3 * HOUR),
    windowMs: HOUR,
    analyze: { write: true, refresh: true },
  });
  result = run.result;
}, 120_000);

afterAll(async () => {
  const s = streamNames(namespace);
  await client.indices
    .deleteDataStream({ name: [s.prediction, s.drift, s.quality].join(',') })
    .catch(() => undefined);
  await client.close();
});

const ruleById = (id: string) => rules(EXAMPLE_ALERT_SETTINGS).find((r) => r.id === id) as Rule;
const ownIndex = (r: Rule) => ((r.params.index as string[])[0] as string).replace(/-\*$/, `-${namespace}`);

describe('one malformed value in a window', () => {
  it('is a quality finding with its severity, not drift', () => {
    const x = (w: number) =>
      result.versions[0]?.windows[w]?.fields.find((f) => f.name === 'x') as
        { drift?: { detected: boolean; method: string }; quality: Record<string, unknown> } | undefined;
    expect(x(0)?.drift?.detected).toBe(false);
    expect(x(0)?.drift?.method).not.toBe('type_mismatch');
    expect(x(0)?.quality.type_mismatch_rate).toBeCloseTo(0.001, 12);
    expect(x(0)?.quality.severity).toBe('low');
    expect(x(1)?.drift?.detected).toBe(false);
    expect(x(1)?.quality.type_mismatch_rate).toBeCloseTo(0.1, 12);
    expect(x(1)?.quality.severity).toBe('high');
  });

  it('the drift rule does not match; the quality rule matches the 10 % window only', async () => {
    const drift = ruleById('mlmon-rule-drift-detected');
    const quality = ruleById('mlmon-rule-quality-rate');
    // a rule run just after each window's results (the rules look back two windows)
    const afterHour1 = new Date(T0 + 2 * HOUR + 60_000);
    const afterHour2 = new Date(T0 + 3 * HOUR + 60_000);
    for (const at of [afterHour1, afterHour2])
      expect((await runRule(client, drift, ownIndex(drift), at)).alerts).toEqual([]);
    // the result documents are stamped with their window's end (hour 1's at 02:00): a run at 02:01
    // sees hour 1 only
    expect((await runRule(client, quality, ownIndex(quality), afterHour1)).alerts).toEqual([]);
    const fired = await runRule(client, quality, ownIndex(quality), afterHour2);
    expect(fired.alerts.map((a) => a.group)).toEqual([expect.stringContaining('x')]);
  }, 60_000);
});
