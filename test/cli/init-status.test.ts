/**
 * Issue 30 item 4: a new user's first run, `init` → `baseline` → `analyze --config` → `status`, on a
 * generated model, checked line by line. Every expected figure is counted here from the generated
 * rows: the training accuracy (and so the bound init proposes, 5 points below it, rounded down to
 * the hundredth), the accuracy of the analysed hour, and which feature moved (x by one standard
 * deviation; color keeps its shares).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { baselineCommand } from '../../src/cli/commands/baseline.js';
import { initCommand } from '../../src/cli/commands/init.js';
import { statusCommand } from '../../src/cli/commands/status.js';
import { installTemplates } from '../../src/elastic/templates.js';
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

async function run(command: typeof analyzeCommand, args: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await command(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const HOUR = 3_600_000;
const client = testClient();
const ns = uniqueNamespace('first');
const model = `gen-${ns}`; // baselines are shared between namespaces: a model of its own
const H = Math.floor(Date.now() / HOUR) * HOUR;
let dir: string;

/** Rows of (x, color, label, prediction): prediction right with probability `right`. */
function rows(n: number, shift: number, right: number, seed: number) {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const x = shift + normal(rand);
    const color = rand() < 0.3 ? 'red' : 'blue';
    const prediction = x > shift ? '1' : '0';
    const label = rand() < right ? prediction : prediction === '1' ? '0' : '1';
    return { x, color, label, prediction };
  });
}
const accuracy = (r: ReturnType<typeof rows>) => r.filter((x) => x.label === x.prediction).length / r.length;

const training = rows(500, 0, 0.92, 1);
const reference = rows(300, 0, 0.92, 2);
const current = rows(300, 1, 0.6, 3);

beforeAll(async () => {
  process.env.ES_URL = inject('esUrl');
  dir = await mkdtemp(join(tmpdir(), 'mlmon-first-'));
  await installTemplates(client);
  const docs = [
    ...reference.map((r, i) => ({ r, t: H - 3 * HOUR + i * 12_000 })),
    ...current.map((r, i) => ({ r, t: H - 2 * HOUR + i * 12_000 })),
  ].map(({ r, t }, i) => ({
    '@timestamp': new Date(t).toISOString(),
    model: { name: model, version: '1' },
    features: { x: r.x, color: r.color },
    prediction: { id: `${ns}-${i}`, label: r.prediction },
    actual: { label: r.label },
  }));
  const result = await client.helpers.bulk({
    datasource: docs,
    onDocument: () => ({ create: { _index: streamNames(ns).prediction } }),
    refreshOnCompletion: true,
  });
  expect(result.failed).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await client.close();
});

describe('init → baseline → analyze → status', () => {
  it('a generated model, line by line', async () => {
    const csv = join(dir, 'training.csv');
    await writeFile(
      csv,
      `x,color,label,prediction\n${training.map((r) => `${r.x},${r.color},${r.label},${r.prediction}`).join('\n')}\n`,
    );
    const trainingAccuracy = accuracy(training);
    const bound = Math.floor((trainingAccuracy - 0.05) * 100) / 100;
    const file = join(dir, 'mlmon.config.yaml');

    const init = await run(initCommand, ['--model', model, '--file', csv, '--namespace', ns, '--out', file]);
    expect(init.stderr).toBe('');
    expect(init.stdout).toBe(
      `wrote ${file}: model ${model}, 2 features, task binary, bound accuracy ≥ ${bound}\n`,
    );
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toContain(`namespace: ${ns}`);
    expect(lines).toContain(`  - name: "${model}"`);
    expect(lines).toContain('    #   x: numeric');
    expect(lines).toContain('    #   color: categorical');
    expect(lines).toContain('    # label column: label');
    expect(lines).toContain('    # prediction column: prediction');
    expect(lines).toContain('    # task: binary');
    expect(lines).toContain(
      `      # training accuracy ${trainingAccuracy.toFixed(4)} over 500 rows; the bound leaves 5 points below it`,
    );
    expect(lines).toContain(`        accuracy: { min: ${bound} }`);

    const baseline = await run(baselineCommand, [
      '--model',
      model,
      '--version',
      '1',
      '--namespace',
      ns,
      '--id',
      'training',
      '--from',
      new Date(H - 3 * HOUR).toISOString(),
      '--to',
      new Date(H - 2 * HOUR).toISOString(),
    ]);
    expect(baseline.code).toBe(0);

    const analyze = await run(analyzeCommand, [
      '--config',
      file,
      '--model',
      model,
      '--from',
      new Date(H - 2 * HOUR).toISOString(),
      '--to',
      new Date(H - HOUR).toISOString(),
    ]);
    expect(analyze.code).toBe(0);

    // analyze writes without waiting for a refresh; status a second later sees the documents
    await client.indices.refresh({ index: `metrics-mlmon.*-${ns}`, ignore_unavailable: true });
    const status = await run(statusCommand, ['--namespace', ns]);
    expect(status.code).toBe(0);
    const out = status.stdout.split('\n');
    expect(out[0]).toBe(`namespace ${ns}: 1 model`);
    expect(out[1]).toBe('');
    expect(out[2]).toBe(`model ${model}`);
    expect(out[3]).toBe(
      `  last window   ${new Date(H - 2 * HOUR).toISOString()} → ${new Date(H - HOUR).toISOString()}, 300 predictions`,
    );
    expect(out[4]).toBe('  drift         1 of 2 features drifted: x');
    // labels only (no scores): accuracy, and no F1 or ROC AUC to show
    expect(out[5]).toBe(
      `  performance   version 1: accuracy ${accuracy(current).toFixed(3)} (bound ≥ ${bound}): DEGRADED`,
    );
    expect(out[6]).toBe('  estimate      none'); // labels only, no scores: nothing to estimate from
    expect(out[7]).toBe("  labels        100.0 % of the last window's predictions labelled");
    expect(out[8]).toMatch(
      new RegExp(
        `^  ingestion     last prediction ${new Date(H - 2 * HOUR + 299 * 12_000).toISOString()}, \\d+(\\.\\d)? (s|min|h) ago$`,
      ),
    );
    expect(out.slice(9)).toEqual(['']);
  }, 240_000);
});
