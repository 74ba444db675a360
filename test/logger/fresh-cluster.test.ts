/**
 * A service that logs before anyone ran `mlmon setup`: on a fresh cluster with no mlmon templates,
 * the logger installs them before its first write, so the prediction stream is a data stream with
 * mlmon's mappings rather than an index with guessed ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@elastic/elasticsearch';
import { LocalCluster } from '../../tools/elasticsearch/local-cluster.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { setupCommand } from '../../src/cli/commands/setup.js';
import { tempSpoolDir } from './helpers.js';

const cluster = new LocalCluster({ name: 'fresh-templates-test', log: () => {} });
let client: Client;

beforeAll(async () => {
  await cluster.start();
  client = new Client({ node: cluster.url });
}, 240_000);

afterAll(async () => {
  await client?.close();
  await cluster.stop();
});

/** Runs `mlmon setup` against the fresh cluster; returns its exit code and output. */
async function setup(args: string[]) {
  const out = { text: '', write: (chunk: string) => ((out.text += chunk), true) };
  const err = { text: '', write: (chunk: string) => ((err.text += chunk), true) };
  const saved = process.env.ES_URL;
  process.env.ES_URL = cluster.url;
  try {
    const code = await setupCommand(args, { stdout: out, stderr: err } as never);
    return { code, stdout: out.text, stderr: err.text };
  } finally {
    process.env.ES_URL = saved;
  }
}

describe('the logger on a cluster without templates', () => {
  it('may not install them: creates nothing, keeps the events, says to run mlmon setup, which names a plain index in the way (issue 25 item 4)', async () => {
    // A plain index where a stream belongs, as an older writer would have left it.
    await client.indices.create({ index: 'logs-mlmon.prediction-legacy' });
    const warnings: string[] = [];
    const open = (namespace: string) =>
      createPredictionLogger({
        node: cluster.url,
        namespace,
        model: { name: 'm' },
        spool: { dir: tempSpoolDir(namespace) },
        ensureTemplates: false, // as a key that may not manage templates
        flushIntervalMs: 50,
        onWarning: (m) => warnings.push(m),
      });
    const waiting = open('waiting');
    const legacy = open('legacy');
    for (const logger of [waiting, legacy])
      for (let i = 0; i < 3; i++)
        logger.logPrediction({ features: { amount: i }, prediction: { score: 0.5 } });
    for (let t = 0; t < 600 && waiting.counters.spooled + legacy.counters.spooled < 6; t++)
      await new Promise((r) => setTimeout(r, 100));
    expect(waiting.counters).toMatchObject({ spooled: 3, indexed: 0, deadLettered: 0, dropped: 0 });
    expect(legacy.counters).toMatchObject({ spooled: 3, indexed: 0, deadLettered: 0, dropped: 0 });
    expect(
      warnings.some((w) => w.includes('logs-mlmon.prediction-waiting') && w.includes('run `mlmon setup`')),
    ).toBe(true);
    expect(warnings.some((w) => w.includes('[logs-mlmon.prediction-legacy] is not a data stream'))).toBe(
      true,
    );
    // Nothing was created: the one index is the plain one made above, and there is no data stream.
    const resolved = await client.indices.resolveIndex({ name: 'logs-mlmon.*', expand_wildcards: 'all' });
    expect(resolved.indices.map((i) => i.name)).toEqual(['logs-mlmon.prediction-legacy']);
    expect(resolved.data_streams).toEqual([]);
    expect(await waiting.close({ timeoutMs: 200 })).toMatchObject({ pending: 3, indexed: 0 });
    expect(await legacy.close({ timeoutMs: 200 })).toMatchObject({ pending: 3, indexed: 0 });

    const planned = await setup(['--dry-run']);
    expect(planned.code).toBe(0);
    expect(planned.stderr).toContain('logs-mlmon.prediction-legacy is a plain index, not a data stream');
    await client.indices.delete({ index: 'logs-mlmon.prediction-legacy' });
  }, 120_000);

  it('installs them before the first write', async () => {
    expect(await client.indices.existsIndexTemplate({ name: 'mlmon-prediction' })).toBe(false);
    const logger = createPredictionLogger({
      node: cluster.url,
      namespace: 'fresh',
      model: { name: 'm', version: '1' },
      spool: { dir: tempSpoolDir('fresh') },
      onWarning: () => {},
    });
    // A string first: with guessed mappings it would make `amount` a text field for good.
    logger.logPrediction({ features: { amount: '12.5', country: 'de' }, prediction: { score: 0.9 } });
    logger.logPrediction({ features: { amount: 7, country: 'fr' }, prediction: { score: 0.1 } });
    // The first write waits for the templates on a node that has just started: on a loaded machine
    // longer than close()'s own limit (10 s), so wait for delivery first, generously.
    expect(await logger.flush(120_000)).toBe(true);
    const counters = await logger.close();
    expect(counters).toMatchObject({ indexed: 2, deadLettered: 0, dropped: 0 });
    expect(await client.indices.existsIndexTemplate({ name: 'mlmon-prediction' })).toBe(true);
    const resolved = await client.indices.resolveIndex({ name: 'logs-mlmon.prediction-fresh' });
    expect(resolved.data_streams.map((d) => d.name)).toEqual(['logs-mlmon.prediction-fresh']);
    const mapping = await client.indices.getMapping({ index: 'logs-mlmon.prediction-fresh' });
    const props = Object.values(mapping)[0]?.mappings.properties as Record<
      string,
      { subobjects?: boolean; properties?: Record<string, { type?: string }> }
    >;
    expect(props.features?.subobjects).toBe(false);
    expect(props.prediction?.properties?.score?.type).toBe('double');
  }, 120_000);
});
