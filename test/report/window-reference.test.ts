/**
 * Issue 21, item 1: `mlmon analyze --reference-from --reference-to` then `mlmon report` must chart
 * the reference against the period for the drifted features, as it does with a stored baseline.
 * Both commands run as the CLI runs them (their command functions, real Elasticsearch); the shares
 * the report draws are checked against counts made here from the generated rows. The Kibana Vega
 * panel, run as Kibana runs it (test/kibana/emulate.ts), draws the same window-reference bins.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { reportCommand } from '../../src/cli/commands/report.js';
import { installTemplates } from '../../src/elastic/templates.js';
import type { FeatureDistribution, ReportData } from '../../src/report/types.js';
import { DISTRIBUTION_PANEL } from '../../src/kibana/vega.js';
import { logStream, resultStream } from '../../src/schema/streams.js';
import { runVega } from '../kibana/emulate.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { bulkCreate, dropNamespace, normal, seededRandom } from '../performance/fixtures.js';

const MODEL = 'winref';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-04-01T00:00:00Z');
/** Hours 0–2 are the reference window, hours 3–8 the analysed period (6 windows of 1 h). */
const REFERENCE_HOURS = 3;
const PERIOD_HOURS = 6;
const PER_HOUR = 300;
/** The last three hours of the period: `amount` shifted by 2 sd, and 10 % `enterprise` in `plan`. */
const shiftedHour = (h: number) => h >= REFERENCE_HOURS + 3;

interface Row {
  at: number;
  amount: number;
  plan: string;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(command: typeof analyzeCommand, args: string[]): Promise<{ code: number; out: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const saved = process.env.ES_URL;
  process.env.ES_URL = inject('esUrl');
  try {
    const code = await command(args, { stdout, stderr });
    expect(code, stderr.text).toBe(0);
    return { code, out: stdout.text };
  } finally {
    process.env.ES_URL = saved;
  }
}

/**
 * Bounds of a numeric bin label as the analyzer stores it: `(−∞, a)`, `[a, b)`, `[b, +∞)`.
 * Labels round the edges to a few significant digits, so a value within that rounding of an edge
 * may be counted in the neighbouring bin here (tolerance below).
 */
function labelBounds(label: string): [number, number] {
  const m = /^[[(](.+), (.+)\)$/.exec(label);
  if (!m) throw new Error(`not a bin label: ${label}`);
  const value = (s: string) => (s === '−∞' ? -Infinity : s === '+∞' ? Infinity : Number(s));
  return [value(m[1] as string), value(m[2] as string)];
}

function sharesOver(values: readonly number[], bins: readonly string[]): number[] {
  const bounds = bins.map(labelBounds);
  return bounds.map(([lo, hi]) => values.filter((v) => v >= lo && v < hi).length / values.length);
}

describe('report with a window reference (issue 21.1)', () => {
  const client = testClient();
  const namespace = uniqueNamespace('winref');
  const rows: Row[] = [];
  let dir: string;
  let report: ReportData;
  let html: string;

  beforeAll(async () => {
    await installTemplates(client);
    dir = await mkdtemp(join(tmpdir(), 'mlmon-winref-'));
    const random = seededRandom(2104);
    const docs: Array<{ id: string; document: Record<string, unknown> }> = [];
    for (let h = 0; h < REFERENCE_HOURS + PERIOD_HOURS; h++) {
      for (let i = 0; i < PER_HOUR; i++) {
        const at = T0 + h * HOUR + Math.floor((i * HOUR) / PER_HOUR);
        const amount = 100 + 15 * (normal(random) + (shiftedHour(h) ? 2 : 0));
        const plan = shiftedHour(h) && i % 10 === 0 ? 'enterprise' : random() < 0.6 ? 'basic' : 'pro';
        const score = random();
        rows.push({ at, amount, plan });
        const id = `${namespace}-${h}-${i}`;
        docs.push({
          id,
          document: {
            '@timestamp': new Date(at).toISOString(),
            model: { name: MODEL, version: '1' },
            prediction: { id, score, label: score >= 0.5 ? '1' : '0' },
            features: { amount, plan },
          },
        });
      }
    }
    await bulkCreate(client, logStream('prediction', namespace), docs);
    const iso = (h: number) => new Date(T0 + h * HOUR).toISOString();
    await run(analyzeCommand, [
      '--model',
      MODEL,
      '--namespace',
      namespace,
      '--reference-from',
      iso(0),
      '--reference-to',
      iso(REFERENCE_HOURS),
      '--from',
      iso(REFERENCE_HOURS),
      '--to',
      iso(REFERENCE_HOURS + PERIOD_HOURS),
      '--window',
      '1h',
      '--drift-only',
    ]);
    await client.indices.refresh({ index: `metrics-mlmon.*-${namespace}` });
    const out = join(dir, 'report.html');
    const ran = await run(reportCommand, [
      '--model',
      MODEL,
      '--namespace',
      namespace,
      '--from',
      iso(REFERENCE_HOURS),
      '--to',
      iso(REFERENCE_HOURS + PERIOD_HOURS),
      '--out',
      out,
      '--format',
      'json',
    ]);
    report = JSON.parse(ran.out) as ReportData;
    html = await readFile(out, 'utf8');
  }, 300_000);

  afterAll(async () => {
    await dropNamespace(client, namespace, [MODEL]);
    await client.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const distributionOf = (feature: string): FeatureDistribution | undefined =>
    report.models[0]?.data.distributions.find((d) => d.feature === feature);

  it('draws the drifted numeric feature: reference and period shares over the reference deciles', () => {
    const data = report.models[0]!.data;
    expect(data.notes.filter((n) => n.startsWith('No reference distribution'))).toEqual([]);
    // The analyzer found the shift (2 sd on 300 values an hour) in the last three windows.
    const amount = data.features.find((f) => f.feature === 'amount');
    expect(amount?.drifted).toBe(3);
    const d = distributionOf('amount');
    expect(d, JSON.stringify(data.notes)).toBeDefined();
    expect(d!.kind).toBe('numeric');
    // 10 decile bins from 9 inner edges.
    expect(d!.bins).toHaveLength(10);
    // Counted here from the generated rows over the bins as labelled. Labels round the edges to 4
    // significant digits (±0.05 at 100): about 900 × 0.05 × φ(0)/15 ≈ 1.2 reference values per edge
    // may fall on the other side, so up to 6 values per bin (two edges, ×2.5 for chance).
    const reference = rows.filter((r) => r.at < T0 + REFERENCE_HOURS * HOUR).map((r) => r.amount);
    const period = rows.filter((r) => r.at >= T0 + REFERENCE_HOURS * HOUR).map((r) => r.amount);
    const expectedReference = sharesOver(reference, d!.bins);
    const expectedCurrent = sharesOver(period, d!.bins);
    d!.reference.forEach((s, i) => expect(Math.abs(s - expectedReference[i]!)).toBeLessThanOrEqual(6 / 900));
    d!.current.forEach((s, i) => expect(Math.abs(s - expectedCurrent[i]!)).toBeLessThanOrEqual(12 / 1800));
    expect(d!.reference.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
    expect(d!.current.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
    // Deciles of the reference: about 0.1 each; half the period is shifted by 2 sd, so the top
    // decile holds about (0.1 + (1 − Φ(1.2816 − 2))) / 2 = (0.1 + 0.764) / 2 ≈ 0.43 of it.
    expect(d!.current[9]!).toBeGreaterThan(0.38);
    expect(d!.current[9]!).toBeLessThan(0.48);
    expect(d!.currentCount).toBe(period.length);
    expect(d!.referenceCount).toBe(reference.length);
  });

  it('draws the categorical feature: reference categories and (other) for the new one', () => {
    const d = distributionOf('plan');
    expect(d).toBeDefined();
    expect(d!.kind).toBe('categorical');
    const reference = rows.filter((r) => r.at < T0 + REFERENCE_HOURS * HOUR);
    const period = rows.filter((r) => r.at >= T0 + REFERENCE_HOURS * HOUR);
    const share = (rs: Row[], plan: string) => rs.filter((r) => r.plan === plan).length / rs.length;
    const at = (label: string) => d!.bins.indexOf(label);
    expect([...d!.bins].sort()).toEqual(['(other)', 'basic', 'pro']);
    expect(d!.reference[at('basic')]).toBeCloseTo(share(reference, 'basic'), 12);
    expect(d!.reference[at('pro')]).toBeCloseTo(share(reference, 'pro'), 12);
    expect(d!.reference[at('(other)')]).toBe(0);
    expect(d!.current[at('basic')]).toBeCloseTo(share(period, 'basic'), 12);
    expect(d!.current[at('(other)')]).toBeCloseTo(share(period, 'enterprise'), 12);
    // 10 % of the three shifted hours: 90 of 1,800.
    expect(share(period, 'enterprise')).toBe(90 / 1800);
  });

  it('puts the charts in the HTML file, without the note', () => {
    expect(html).not.toContain('No reference distribution');
    expect(html).toContain('amount: reference vs this period');
    expect(html).toContain('plan: reference vs this period');
    // drift ranking, two distributions (amount, plan); no performance or service in --drift-only
    const images = html.match(/<img\s+src="data:image\/png;base64,/g) ?? [];
    expect(images.length).toBeGreaterThanOrEqual(3);
  });

  it('the Kibana Vega panel draws the latest window against the reference window', async () => {
    const from = new Date(T0 + REFERENCE_HOURS * HOUR);
    const to = new Date(T0 + (REFERENCE_HOURS + PERIOD_HOURS) * HOUR);
    const out = await runVega(client, DISTRIBUTION_PANEL, resultStream('drift', namespace), from, to);
    const amount = out.rows.filter((r) => r.feature === 'amount');
    // 10 decile bins, a reference and a window bar each
    expect(amount).toHaveLength(20);
    const bins = [...new Set(amount.map((r) => r.bin_label as string))];
    expect(bins).toEqual(distributionOf('amount')!.bins);
    // The latest window is the last hour: its shares counted here from its rows, over the labelled
    // bins (tolerance as above: 300 values, ±0.4 per edge, so up to 3 per bin).
    const last = rows.filter((r) => r.at >= to.getTime() - HOUR).map((r) => r.amount);
    const expected = sharesOver(last, bins);
    for (const r of amount.filter((x) => x.distribution === 'Current window'))
      expect(
        Math.abs((r.share as number) - expected[bins.indexOf(r.bin_label as string)]!),
      ).toBeLessThanOrEqual(3 / 300);
    // Shifted by 2 sd: the top decile holds about 1 − Φ(1.2816 − 2) = 0.764 of the last hour.
    const top = amount.find((r) => r.distribution === 'Current window' && r.bin_label === bins[9]);
    expect(top!.share as number).toBeGreaterThan(0.68);
    expect(top!.share as number).toBeLessThan(0.84);
  });
});
