/**
 * Issue 30 item 1: `mlmon analyze --config` and `mlmon schedule --once` judge the same data alike.
 *
 * One model, the same rows indexed into two namespaces: a reference of two hours (x ~ N(0, 1),
 * the label right 90 % of the time) and two analysis hours where x moved to N(1, 1) (drift) and the
 * label is right only 60 % of the time (accuracy 0.6, below the configured bound `min: 0.8`). The
 * config file's bound is what makes the windows "degraded": analyze without it sees only the drift
 * ("drifting"; the disagreement the issue reports), with --config it reads the bound from the
 * scheduler's file and the report's verdict over its results equals the one `schedule --once`
 * ends with, and that of the report over the scheduler's results.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { createScheduleCommand } from '../../src/cli/commands/schedule.js';
import { buildBaseline } from '../../src/analyzer/baseline.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { gatherModelPeriod, verdictOf } from '../../src/report/index.js';
import { streamNames } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { normal, seededRandom } from '../helpers/predictions.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const HOUR = 3_600_000;
const client = testClient();
const nsAnalyze = uniqueNamespace('agreea');
const nsSchedule = uniqueNamespace('agrees');
const H = Math.floor(Date.now() / HOUR) * HOUR; // end of the last complete hour
const start = H - 3 * HOUR; // first analysis window; the reference is the two hours before it
let dir: string;

/** 300 rows an hour: score = sigmoid(2x), label = score > 0.5, actual right with probability `right`. */
function rows(from: number, hours: number, shift: number, right: number, seed: number) {
  const rand = seededRandom(seed);
  const out = [];
  for (let i = 0; i < hours * 300; i++) {
    const x = shift + normal(rand);
    const score = 1 / (1 + Math.exp(-2 * x));
    const label = score > 0.5 ? '1' : '0';
    const actual = rand() < right ? label : label === '1' ? '0' : '1';
    // a category the reference never saw, in the analysis hours only
    const c = shift > 0 && i % 10 === 0 ? 'zeta' : rand() < 0.5 ? 'alpha' : 'beta';
    out.push({
      '@timestamp': new Date(from + i * 12_000).toISOString(),
      model: { name: 'agree', version: '1' },
      features: { x, c },
      prediction: { id: `p${seed}-${i}`, score, label },
      actual: { label: actual },
    });
  }
  return out;
}

async function config(namespace: string): Promise<string> {
  const file = join(dir, `${namespace}.json`);
  await writeFile(
    file,
    JSON.stringify({
      elasticsearch: { url: inject('esUrl') },
      namespace,
      scheduler: { logLevel: 'info' },
      models: [
        {
          name: 'agree',
          window: '1h',
          start: new Date(start).toISOString(),
          baseline: namespace, // baselines are shared across namespaces: one id each
          performance: { bounds: { accuracy: { min: 0.8 } } },
        },
      ],
    }),
  );
  return file;
}

async function verdict(namespace: string) {
  // analyze writes without waiting for a refresh (a report a second later sees the documents)
  await client.indices.refresh({ index: `metrics-mlmon.*-${namespace}`, ignore_unavailable: true });
  const data = await gatherModelPeriod(client, {
    namespace,
    model: 'agree',
    period: { start: new Date(start), end: new Date(H) },
    distributions: false,
  });
  return verdictOf(data);
}

async function run(command: typeof analyzeCommand, args: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await command(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

beforeAll(async () => {
  process.env.ES_URL = inject('esUrl');
  dir = await mkdtemp(join(tmpdir(), 'mlmon-agree-'));
  await installTemplates(client);
  const data = [...rows(start - 2 * HOUR, 2, 0, 0.9, 1), ...rows(start, 2, 1, 0.6, 2)];
  for (const namespace of [nsAnalyze, nsSchedule]) {
    const result = await client.helpers.bulk({
      datasource: data,
      onDocument: () => ({ create: { _index: streamNames(namespace).prediction } }),
      refreshOnCompletion: true,
    });
    expect(result.failed).toBe(0);
    await buildBaseline(client, {
      namespace,
      model: 'agree',
      version: '1',
      id: namespace,
      from: new Date(start - 2 * HOUR),
      to: new Date(start),
    });
  }
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await client.close();
});

describe('analyze --config and schedule --once: one verdict', () => {
  it('without the bounds analyze sees drift only; with --config the same verdict as the scheduler', async () => {
    const range = [
      '--model',
      'agree',
      '--from',
      new Date(start).toISOString(),
      '--to',
      new Date(H).toISOString(),
    ];
    const plain = await run(analyzeCommand, [
      ...range,
      '--namespace',
      nsAnalyze,
      '--window',
      '1h',
      '--baseline',
      nsAnalyze,
    ]);
    expect(plain.code).toBe(0);
    expect((await verdict(nsAnalyze)).status).toBe('drifting');

    const file = await config(nsAnalyze);
    const configured = await run(analyzeCommand, [...range, '--config', file]);
    expect(configured.stderr).not.toMatch(/error/i);
    expect(configured.code).toBe(0);
    // the bound from the file marks the windows: 0.6 < 0.8
    expect(configured.stdout).toMatch(
      /accuracy 0\.[56]\d\d, .*estimated accuracy 0\.9\d\d \(UNRELIABLE: the labels contradict it: concept_drift\), DEGRADED/,
    );
    expect(configured.stdout).toContain('DEGRADED');
    expect(configured.stdout).toContain('new categories in c: zeta');
    const analyzed = await verdict(nsAnalyze);
    expect(analyzed.status).toBe('degraded');

    const scheduled = await run(createScheduleCommand(), ['--config', await config(nsSchedule), '--once']);
    expect(scheduled.code).toBe(0);
    const findings = scheduled.stdout
      .split('\n')
      .filter((l) => l.includes('schedule.findings'))
      .map((l) => JSON.parse(l) as { message: string; status: string; reasons: string[] });
    expect(findings).toHaveLength(1);
    // the last line of --once is what it found, in the report's words
    expect(scheduled.stdout.trim().split('\n').at(-1)).toContain('schedule.findings');
    expect(findings[0]?.status).toBe('degraded');
    expect(findings[0]?.message).toMatch(
      /^agree is degraded: performance out of bounds in \d of \d windows \(accuracy\); 2 of 2 features drifted: /,
    );
    expect((await verdict(nsSchedule)).status).toBe(analyzed.status);
  }, 240_000);
});
