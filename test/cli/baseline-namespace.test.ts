/**
 * Baselines belong to a namespace (issue 29, item 5): `mlmon baseline --namespace staging` and
 * `--namespace prod` of one model version and baseline id are two baselines, each read back in its
 * own namespace; a baseline stored before baselines had a namespace is the default namespace's.
 *
 * Expected numbers: the row counts of the two reference files written here (30 and 50 rows).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { baselineDocumentId, getBaseline } from '../../src/profiles/store.js';
import { BASELINES_INDEX } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function csv(rows: number): string {
  return ['x,colour', ...Array.from({ length: rows }, (_, i) => `${i},${i % 2 ? 'red' : 'blue'}`)].join('\n');
}

describe('baselines per namespace', () => {
  const client = testClient();
  const unique = uniqueNamespace('bns');
  const staging = `${unique}staging`;
  const prod = `${unique}prod`;
  const model = `ns-${unique}`;
  const dir = mkdtempSync(join(tmpdir(), 'mlmon-baseline-ns-'));

  beforeAll(async () => {
    await installTemplates(client);
    writeFileSync(join(dir, 'staging.csv'), csv(30));
    writeFileSync(join(dir, 'prod.csv'), csv(50));
  });
  afterAll(async () => {
    await client
      .deleteByQuery({ index: BASELINES_INDEX, query: { term: { 'model.name': model } }, refresh: true })
      .catch(() => undefined);
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a staging and a prod baseline of one model version side by side', async () => {
    for (const [namespace, file] of [
      [staging, 'staging.csv'],
      [prod, 'prod.csv'],
    ] as const) {
      const err = capture();
      const code = await run(
        ['baseline', '--model', model, '--version', '1', '--namespace', namespace, '--file', join(dir, file)],
        { stdout: capture().stream, stderr: err.stream },
      );
      // Without namespaces the second one was refused: 'Baseline "default" … exists' (exit 3).
      expect(code, err.text()).toBe(0);
    }
    const inStaging = await getBaseline(client, { model, version: '1', namespace: staging });
    const inProd = await getBaseline(client, { model, version: '1', namespace: prod });
    expect(inStaging?.profile.rowCount).toBe(30);
    expect(inStaging?.namespace).toBe(staging);
    expect(inProd?.profile.rowCount).toBe(50);
    expect(inProd?.namespace).toBe(prod);
    expect(await getBaseline(client, { model, version: '1' })).toBeUndefined();
  });

  it('reads a baseline stored without a namespace as the default namespace’s', async () => {
    const inStaging = await getBaseline(client, { model, version: '1', namespace: staging });
    if (!inStaging) throw new Error('the first test stores the staging baseline');
    // A document as stored before baselines had a namespace: no baseline.namespace, the old id.
    await client.index({
      index: BASELINES_INDEX,
      id: baselineDocumentId({ model, version: '1', id: 'legacy' }),
      document: {
        '@timestamp': inStaging.created,
        model: { name: model, version: '1' },
        baseline: { id: 'legacy', created: inStaging.created, source: { type: 'file', path: 'old.csv' } },
        profile: inStaging.profile,
      },
      refresh: true,
    });
    const legacy = await getBaseline(client, { model, version: '1', id: 'legacy' });
    expect(legacy?.namespace).toBe('default');
    expect(legacy?.profile.rowCount).toBe(30);
    expect(await getBaseline(client, { model, version: '1', id: 'legacy', namespace: prod })).toBeUndefined();
  });
});
