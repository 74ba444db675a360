/**
 * Baselines belong to a namespace (issue 29, item 5): `mlmon baseline --namespace staging` and
 * `--namespace prod` of one model version and baseline id are two baselines, each read back in its
 * own namespace; a baseline stored before baselines had a namespace is the default namespace's.
 * `mlmon baseline list` shows them with their namespace and `mlmon baseline delete` removes one.
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

async function mlmon(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture();
  const err = capture();
  const code = await run(args, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
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
        baseline: {
          id: 'legacy',
          created: inStaging.created,
          source: { type: 'file', path: 'old.csv' },
          count: inStaging.profile.rowCount,
          features: Object.keys(inStaging.profile.features),
        },
        profile: inStaging.profile,
      },
      refresh: true,
    });
    const legacy = await getBaseline(client, { model, version: '1', id: 'legacy' });
    expect(legacy?.namespace).toBe('default');
    expect(legacy?.profile.rowCount).toBe(30);
    expect(await getBaseline(client, { model, version: '1', id: 'legacy', namespace: prod })).toBeUndefined();
  });

  it('baseline list prints model, version, namespace, id, created and source; --list still works', async () => {
    const all = await mlmon(['baseline', 'list', '--model', model]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.split('\n').filter(Boolean);
    // staging, prod and the legacy document of the test above
    expect(lines).toHaveLength(3);
    const stagingLine = lines.find((l) => l.includes(`namespace ${staging} `));
    expect(stagingLine).toMatch(
      new RegExp(
        `^${model}  version 1  namespace ${staging}  id default  created \\d{4}-\\d\\d-\\d\\dT.*  from file .*staging\\.csv  30 rows`,
      ),
    );
    expect(lines.find((l) => l.includes('id legacy'))).toContain('namespace default');
    const onlyProd = await mlmon(['baseline', 'list', '--model', model, '--namespace', prod]);
    expect(onlyProd.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringContaining(`namespace ${prod} `),
    ]);
    const alias = await mlmon(['baseline', '--list', '--model', model]);
    expect(alias.code).toBe(0);
    expect(alias.stdout.split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('baseline delete removes the one named, says what it deleted, and refuses when nothing matches', async () => {
    const args = ['baseline', 'delete', '--model', model, '--version', '1', '--id', 'default'];
    const deleted = await mlmon([...args, '--namespace', staging]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(
      new RegExp(
        `^Deleted baseline "default" of model ${model} version 1 in namespace ${staging} \\(created .*\\)\\n$`,
      ),
    );
    expect(await getBaseline(client, { model, version: '1', namespace: staging })).toBeUndefined();
    expect((await getBaseline(client, { model, version: '1', namespace: prod }))?.profile.rowCount).toBe(50);

    const again = await mlmon([...args, '--namespace', staging]);
    expect(again.code).toBe(3);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(
      `mlmon baseline delete: no baseline "default" of model ${model} version 1 in namespace ${staging}: nothing deleted\n`,
    );
    // The id is asked for: a deletion names what it deletes.
    const noId = await mlmon(['baseline', 'delete', '--model', model, '--version', '1']);
    expect(noId.code).toBe(2);
    expect((await getBaseline(client, { model, version: '1', namespace: prod }))?.profile.rowCount).toBe(50);
  });
});
