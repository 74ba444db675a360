/**
 * Issue 30 item 2: A/B comparison of two live versions, from the verdict function up to the
 * documents `mlmon analyze` and `mlmon schedule --once` write.
 *
 * The pure part draws windows of labelled predictions from versions whose true accuracies are
 * known (seeded binomial draws) and counts the verdicts: on equal versions the share of windows
 * with a verdict (B better or worse) is the test's false-verdict rate, which must not exceed its
 * level's α = 0.05; with a true loss of 6 points the verdict must be "B worse" in most windows
 * (power by the normal approximation: z = 0.06 / √(0.8·0.2/1000 + 0.74·0.26/1000) = 3.21, power
 * Φ(3.21 − 1.96) = 0.89), and the interval must cover the true difference about 95 % of the time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { statusCommand } from '../../src/cli/commands/status.js';
import { createScheduleCommand } from '../../src/cli/commands/schedule.js';
import {
  comparisonVerdict,
  MIN_LABELLED_PER_VERSION,
  type ComparisonVerdict,
} from '../../src/analyzer/version-comparison.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { assembleReport, gatherModelPeriod, renderText } from '../../src/report/index.js';
import { streamNames } from '../../src/schema/streams.js';
import { compareProportions } from '../../src/stats/performance/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { seededRandom } from '../helpers/predictions.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Verdicts over `windows` windows of n labelled predictions per version, true accuracies pa and pb. */
function simulate(pa: number, pb: number, n: number, windows: number, seed: number) {
  const rand = seededRandom(seed);
  const successes = (p: number) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (rand() < p) k++;
    return k;
  };
  const verdicts: Record<ComparisonVerdict, number> = {
    b_better: 0,
    b_worse: 0,
    no_difference: 0,
    insufficient_data: 0,
  };
  let covered = 0;
  for (let w = 0; w < windows; w++) {
    const c = compareProportions(
      { successes: successes(pa), trials: n },
      { successes: successes(pb), trials: n },
    );
    verdicts[comparisonVerdict({ a: n, b: n }, c.difference, c.pValue, 0.95, true)]++;
    if (c.ci && c.ci.lower <= pb - pa && pb - pa <= c.ci.upper) covered++;
  }
  return { verdicts, covered: covered / windows };
}

describe('A/B verdicts on versions whose true difference is known', () => {
  it('equal versions: a verdict in about α = 5 % of 20,000 windows, not more', () => {
    const windows = 20_000;
    const { verdicts } = simulate(0.8, 0.8, 500, windows, 30);
    const falseRate = (verdicts.b_better + verdicts.b_worse) / windows;
    console.log(`false-verdict rate on equal versions: ${falseRate} (${JSON.stringify(verdicts)})`);
    // The test's size is α itself, so a measured rate sits on either side of 0.05 by chance: the
    // bound is α plus 2.58 binomial standard errors (√(0.05 · 0.95 / 20,000) = 0.00154), a 99 %
    // band; a test firing at 6 % would be above it.
    expect(falseRate).toBeLessThanOrEqual(0.05 + 2.58 * Math.sqrt((0.05 * 0.95) / windows));
    expect(falseRate).toBeGreaterThan(0.04); // a test that never fires would pass the line above
    // no direction is favoured
    expect(Math.abs(verdicts.b_better - verdicts.b_worse)).toBeLessThan(
      0.25 * (verdicts.b_better + verdicts.b_worse),
    );
  });

  it('a true loss of 6 points: "B worse" in most windows, never "B better", the interval covers it', () => {
    const { verdicts, covered } = simulate(0.8, 0.74, 1000, 500, 31);
    console.log(`known loss: ${JSON.stringify(verdicts)}, interval coverage ${covered}`);
    expect(verdicts.b_better).toBe(0);
    expect(verdicts.b_worse / 500).toBeGreaterThan(0.8); // power 0.89 by the normal approximation
    expect(covered).toBeGreaterThan(0.92);
    expect(covered).toBeLessThan(0.98);
  });

  it('too few labels: no verdict, whatever the difference', () => {
    const n = MIN_LABELLED_PER_VERSION - 1;
    const c = compareProportions({ successes: n, trials: n }, { successes: 0, trials: n });
    expect(comparisonVerdict({ a: n, b: n }, c.difference, c.pValue, 0.95, true)).toBe('insufficient_data');
  });
});

describe('A/B in Elasticsearch: analyze and the scheduler write the comparison', () => {
  const client = testClient();
  const nsAnalyze = uniqueNamespace('aba');
  const nsSchedule = uniqueNamespace('abs');
  const HOUR = 3_600_000;
  const H = Math.floor(Date.now() / HOUR) * HOUR;
  const start = H - 2 * HOUR;
  let dir: string;

  /** Version 1 from the start (right 85 %), version 2 in the second hour only (right 65 %). */
  function rows() {
    const rand = seededRandom(7);
    const out = [];
    for (let i = 0; i < 1200; i++) {
      const t = start + i * 6000;
      const version = t >= start + HOUR && i % 2 === 1 ? '2' : '1';
      const right = version === '1' ? 0.85 : 0.65;
      const label = rand() < 0.5 ? '1' : '0';
      const actual = rand() < right ? label : label === '1' ? '0' : '1';
      out.push({
        '@timestamp': new Date(t).toISOString(),
        model: { name: 'ab', version },
        features: { x: rand() },
        prediction: { id: `ab-${i}`, label, score: label === '1' ? 0.7 : 0.3 },
        actual: { label: actual },
      });
    }
    return out;
  }

  beforeAll(async () => {
    process.env.ES_URL = inject('esUrl');
    dir = await mkdtemp(join(tmpdir(), 'mlmon-ab-'));
    await installTemplates(client);
    const data = rows();
    for (const namespace of [nsAnalyze, nsSchedule]) {
      const r = await client.helpers.bulk({
        datasource: data,
        onDocument: () => ({ create: { _index: streamNames(namespace).prediction } }),
        refreshOnCompletion: true,
      });
      expect(r.failed).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await client.close();
  });

  async function comparisons(namespace: string) {
    await client.indices.refresh({ index: streamNames(namespace).performance });
    const r = await client.search<{ comparison: Record<string, unknown>; window: { start: string } }>({
      index: streamNames(namespace).performance,
      query: { term: { 'performance.scope': 'comparison' } },
    });
    return r.hits.hits.map((h) => h._source);
  }

  it('one comparison document for the hour both versions were live: B worse', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await analyzeCommand(
      [
        '--model',
        'ab',
        '--namespace',
        nsAnalyze,
        '--from',
        new Date(start).toISOString(),
        '--to',
        new Date(start + 2 * HOUR).toISOString(),
        '--window',
        '1h',
      ],
      { stdout, stderr },
    );
    expect(code).toBe(0);
    // 300 predictions of each version in the second hour: 0.85 vs 0.65 is z ≈ 5.8, p < 1e-6
    expect(stdout.text).toMatch(
      /A\/B: version 2 \(B\) against 1 \(A\), 300 and 300 labelled: accuracy 6\d\.\d % vs 8\d\.\d %, B − A -\d+\.\d % \[-\d+\.\d %, -\d+\.\d %\] at 95 %, p \S+: B is WORSE/,
    );
    const docs = await comparisons(nsAnalyze);
    expect(docs).toHaveLength(1);
    expect(docs[0]?.window.start).toBe(new Date(start + HOUR).toISOString());
    expect(docs[0]?.comparison).toMatchObject({
      version_a: '1',
      version_b: '2',
      verdict: 'b_worse',
      count_a: 300,
    });
    expect(docs[0]?.comparison.p_value as number).toBeLessThan(1e-4);

    const file = join(dir, 'ab.json');
    await writeFile(
      file,
      JSON.stringify({
        elasticsearch: { url: inject('esUrl') },
        namespace: nsSchedule,
        models: [{ name: 'ab', window: '1h', start: new Date(start).toISOString(), jobs: ['comparison'] }],
      }),
    );
    const out = new Sink();
    expect(
      await createScheduleCommand()(['--config', file, '--once'], { stdout: out, stderr: new Sink() }),
    ).toBe(0);
    const scheduled = await comparisons(nsSchedule);
    expect(scheduled.map((d) => d?.comparison)).toEqual(docs.map((d) => d?.comparison));
    // the report shows it, in the same words as analyze
    const data = await gatherModelPeriod(client, {
      namespace: nsSchedule,
      model: 'ab',
      period: { start: new Date(start), end: new Date(start + 2 * HOUR) },
      distributions: false,
    });
    const text = renderText(
      assembleReport([{ current: data }], {
        namespace: nsSchedule,
        period: data.period,
        title: 'ab',
        generatedAt: new Date(),
      }),
    );
    // and mlmon status, under the model
    const status = new Sink();
    expect(await statusCommand(['--namespace', nsSchedule], { stdout: status, stderr: new Sink() })).toBe(0);
    expect(status.text).toMatch(
      /\n {2}A\/B: version 2 \(B\) against 1 \(A\), 300 and 300 labelled: .*B is WORSE\n/,
    );
    expect(text).toContain('A/B comparison (per window where two versions were live):');
    expect(text).toMatch(/A\/B: version 2 \(B\) against 1 \(A\), 300 and 300 labelled: .*B is WORSE/);
  }, 180_000);
});
