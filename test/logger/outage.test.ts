/**
 * Outage and crash, against a separate local Elasticsearch that this file starts, stops and starts
 * again (never the shared one).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../tools/elasticsearch/local-cluster.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, sleep, tempSpoolDir } from './helpers.js';

const cluster = new LocalCluster({ name: 'outage-test', log: () => {} }); // fresh data; restarts keep it
let client: Client;

beforeAll(async () => {
  await cluster.start();
  client = new Client({ node: cluster.url, requestTimeout: 60_000 });
  await installTemplates(client);
}, 300_000);

afterAll(async () => {
  await client?.close();
  await cluster.stop();
}, 120_000);

function event(i: number) {
  return {
    features: { amount: i * 0.5, country: ['de', 'fr', 'us'][i % 3], n: i },
    prediction: { label: String(i % 2), score: (i % 100) / 100 },
    latencyMs: 2,
  };
}

describe('Elasticsearch outage', () => {
  it('logs at a steady rate through a 30 s outage; after close() every id is stored exactly once', async () => {
    const ns = uniqueNamespace('outage');
    const dir = tempSpoolDir('outage');
    const logger = createPredictionLogger({
      node: cluster.url,
      namespace: ns,
      model: { name: 'outage', version: '1' },
      spool: { dir },
      flushIntervalMs: 200,
      retryMaxMs: 2000,
      closeTimeoutMs: 60_000,
      onWarning: () => {},
    });
    const ids: string[] = [];
    // About 200 predictions a second, steadily, for the whole test.
    const producer = setInterval(() => {
      for (let k = 0; k < 2; k++) ids.push(logger.logPrediction(event(ids.length)));
    }, 10);
    // Until the first documents are stored (on a fresh cluster the logger installs the templates
    // and the data stream is created first: 3 s were not always enough on a loaded CI machine).
    const firstStoredBy = Date.now() + 120_000;
    do await sleep(500);
    while (logger.counters.indexed === 0 && Date.now() < firstStoredBy);
    const beforeOutage = logger.counters.indexed;
    expect(beforeOutage).toBeGreaterThan(0);

    await cluster.stop();
    const downAt = Date.now();
    await sleep(30_000);
    const during = { ...logger.counters };
    const loggedDuringOutage = ids.length;
    await cluster.start();
    const downMs = Date.now() - downAt;
    await sleep(3000);
    clearInterval(producer);

    expect(await logger.flush(60_000)).toBe(true);
    const counters = await logger.close();
    process.stdout.write(
      `[outage] down ${(downMs / 1000).toFixed(1)} s, logged ${ids.length}, spooled ${counters.spooled}, ` +
        `retried ${counters.retried}, conflicts ${counters.conflicts}\n`,
    );
    expect(downMs).toBeGreaterThanOrEqual(30_000);
    // During the outage the logger kept accepting and moved what it could not send to disk.
    expect(during.spooled).toBeGreaterThan(1000);
    expect(during.indexed).toBeLessThan(loggedDuringOutage);
    expect(counters).toMatchObject({
      accepted: ids.length,
      indexed: ids.length,
      dropped: 0,
      deadLettered: 0,
    });
    const stored = await countsById(client, `logs-mlmon.prediction-${ns}`);
    expect(compareIds(ids, stored)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(readdirSync(dir)).toEqual([]);
  }, 240_000);

  it('a process killed (SIGKILL) with predictions in its spool loses and duplicates nothing', async () => {
    const ns = uniqueNamespace('crash');
    const dir = tempSpoolDir('crash');
    const count = 2000;
    await cluster.stop();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./crash-child.ts', import.meta.url)),
        cluster.url,
        ns,
        dir,
        String(count),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\nREADY ')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${out.slice(-500)}`)));
    });
    await ready;
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const ids = JSON.parse(/IDS (.*)\n/.exec(out)?.[1] ?? '[]') as string[];
    expect(ids).toHaveLength(count);
    expect(readdirSync(dir).filter((f) => f.endsWith('.ndjson')).length).toBeGreaterThan(0);

    await cluster.start();
    const logger = createPredictionLogger({
      node: cluster.url,
      namespace: ns,
      model: { name: 'crash', version: '1' },
      spool: { dir },
      onWarning: () => {},
    });
    expect(await logger.flush(60_000)).toBe(true);
    const counters = await logger.close();
    expect(counters).toMatchObject({ accepted: 0, recovered: count, indexed: count, dropped: 0 });
    const stored = await countsById(client, `logs-mlmon.prediction-${ns}`);
    expect(compareIds(ids, stored)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(readdirSync(dir)).toEqual([]);
  }, 180_000);
});
