/**
 * A binary model's baseline from a training file whose `prediction.label` / `actual.label` columns
 * hold 0/1 (the documented column names), then `mlmon analyze` over logged predictions. The label
 * fields are mapped `keyword` (index-templates/component/mlmon-prediction@mappings.json), so they
 * are categorical by their role whatever their values look like; on main the file's 0/1 columns were
 * profiled as numeric and analyze failed with Elasticsearch's raw "Field [prediction.label] of type
 * [keyword] is not supported for aggregation [range]". A profile stored before (numeric labels)
 * gets a one-line error that says how to re-create it.
 *
 * Data: 400 training rows, row i: x = i / 400, label 1 when x ≥ 0.5; 200 logged predictions on
 * 2026-03-02 with the same rule, so the label shares are equal (50 %) on both sides; their outcomes
 * are logged apart (logOutcome), as a service does.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { baselineCommand } from '../../src/cli/commands/baseline.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { profileColumn } from '../../src/profiles/from-file.js';
import { getBaseline, saveBaseline } from '../../src/profiles/store.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = { stdout: '', stderr: '' };
  stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  return { io: { stdout, stderr }, out };
}

describe('mlmon baseline --file with 0/1 label columns', () => {
  const client = testClient();
  const namespace = uniqueNamespace('labels');
  const model = `labels-${namespace}`;
  let dir: string;
  const day = Date.UTC(2026, 2, 2);

  beforeAll(async () => {
    process.env.ES_URL = inject('esUrl');
    dir = await mkdtemp(join(tmpdir(), 'mlmon-labels-'));
    const rows = ['x,colour,prediction.score,prediction.label,actual.label,row_id'];
    for (let i = 0; i < 400; i++) {
      const x = i / 400;
      const y = x >= 0.5 ? 1 : 0;
      rows.push(`${x},${i % 2 ? 'red' : 'blue'},${x},${y},${y},${i}`);
    }
    await writeFile(join(dir, 'train.csv'), `${rows.join('\n')}\n`);
    const logger = createPredictionLogger({
      node: inject('esUrl'),
      namespace,
      model: { name: model, version: '1' },
    });
    for (let i = 0; i < 200; i++) {
      const x = i / 200;
      const y = x >= 0.5 ? 1 : 0;
      const id = logger.logPrediction({
        timestamp: day + i * 60_000,
        features: { x, colour: i % 2 ? 'red' : 'blue' },
        prediction: { label: String(y), score: x },
      });
      logger.logOutcome({ id, actual: { label: String(y) } });
    }
    expect(await logger.close({ timeoutMs: 120_000 })).toMatchObject({
      indexed: 400,
      pending: 0,
      dropped: 0,
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await client.close();
  });

  const modelArgs = () => ['--model', model, '--version', '1', '--namespace', namespace];
  const window = ['--from', '2026-03-02T00:00:00Z', '--to', '2026-03-03T00:00:00Z', '--window', '1d'];

  it('profiles the label columns as categorical, leaves out --exclude, and analyze runs', async () => {
    const { io: streams, out } = io();
    const args = [...modelArgs(), '--file', join(dir, 'train.csv')];
    const code = await baselineCommand([...args, '--exclude', 'row_id', '--format', 'json'], streams);
    expect(code, out.stderr).toBe(0);
    const stored = JSON.parse(out.stdout) as { features: Array<{ name: string; kind: string }> };
    const kinds = Object.fromEntries(stored.features.map((f) => [f.name, f.kind]));
    expect(kinds).toEqual({
      x: 'numeric',
      colour: 'categorical',
      'prediction.score': 'numeric',
      'prediction.label': 'categorical',
      'actual.label': 'categorical',
    });

    const { io: s2, out: o2 } = io();
    const analyzed = await analyzeCommand([...modelArgs(), ...window, '--format', 'json'], s2);
    expect(o2.stderr).not.toMatch(/not supported for aggregation/);
    expect(analyzed).toBe(0);
    const result = JSON.parse(o2.stdout) as {
      drift: {
        versions: Array<{
          windows: Array<{
            count: number;
            fields: Array<{ field: string; type: string; quality: { missing_rate?: number }; note?: string }>;
          }>;
        }>;
      };
    };
    const w = result.drift.versions[0]?.windows[0];
    expect(w?.count).toBe(200);
    expect(w?.fields.find((f) => f.field === 'prediction.label')?.type).toBe('categorical');
    // The outcomes were logged apart (logOutcome): actual.label on no prediction is not 100 % missing
    // (issue 29, item 5); the features keep their rate (0: every prediction has x).
    const truth = w?.fields.find((f) => f.field === 'actual.label');
    expect(truth?.quality.missing_rate).toBeUndefined();
    expect(truth?.note).toMatch(/outcomes arrive apart/);
    expect(w?.fields.find((f) => f.field === 'features.x')?.quality.missing_rate).toBe(0);
  });

  it('a stored profile with numeric labels gets one line that says what to do', async () => {
    const good = await getBaseline(client, { model, version: '1', id: 'default', namespace });
    if (!good) throw new Error('the first test stores the default baseline');
    const numeric = profileColumn(
      Array.from({ length: 400 }, (_, i) => (i >= 200 ? 1 : 0)),
      'numeric',
    );
    const profile = { ...good.profile, features: { ...good.profile.features, 'prediction.label': numeric } };
    await saveBaseline(client, { model, version: '1', id: 'numeric-labels', namespace }, profile, {
      refresh: true,
    });
    const { io: streams, out } = io();
    const code = await analyzeCommand([...modelArgs(), ...window, '--baseline', 'numeric-labels'], streams);
    expect(code).not.toBe(0);
    const lines = out.stderr.split('\n').filter(Boolean);
    expect(lines, out.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/prediction\.label.*numeric.*keyword/);
    expect(lines[0]).toMatch(/mlmon baseline .*--replace/);
    expect(lines[0]).not.toMatch(/not supported for aggregation/);
  });
});
