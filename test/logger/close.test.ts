/**
 * close() under load (issue 21, item 3): 20,001 events, large hostile ones among them, through a
 * slow cluster (the proxy holds every bulk request before forwarding it). A short timeout must not
 * end quietly: close() resolves with what is left (`pending`, the spool's place and size) and warns
 * once, naming the spool; `mlmon spool flush` then delivers exactly what was left. With
 * `timeoutMs: Infinity`, close() waits until everything is indexed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spoolFlushCommand } from '../../src/cli/commands/spool.js';
import { createPredictionLogger, type PredictionEvent } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countDocs, countsById, ensureTemplates, tempSpoolDir } from './helpers.js';
import { EsProxy } from './proxy.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
let proxy: EsProxy;

beforeAll(async () => {
  await ensureTemplates(client);
  proxy = new EsProxy(esUrl());
  await proxy.start();
});

afterAll(async () => {
  await proxy.stop();
  await client.close();
});

const NORMAL = 19_995;

/**
 * 19,995 ordinary events with ids `${prefix}-<i>`, then 6 hostile ones (5 with ids, then `null`):
 * 20,001 in all, as in the issue.
 */
function events(prefix: string): { list: unknown[]; ids: string[] } {
  const list: unknown[] = [];
  const ids: string[] = [];
  for (let i = 0; i < NORMAL; i++) {
    const id = `${prefix}-${i}`;
    ids.push(id);
    list.push({
      id,
      features: { amount: i * 1.5, country: i % 2 ? 'de' : 'fr', note: 'x'.repeat(i % 50) },
      prediction: { label: String(i % 2), score: (i % 10) / 10 },
      latencyMs: 1 + (i % 5),
    });
  }
  // 3,000 features of 2,000 characters: 1,000 kept, each cut to 1,024 (about a 1 MB document).
  const wide: Record<string, string> = {};
  for (let k = 0; k < 3000; k++) wide[`f${k}`] = 'w'.repeat(2000);
  const circular: Record<string, unknown> = { amount: 1 };
  circular.self = circular;
  const throwing = { amount: 2 };
  Object.defineProperty(throwing, 'boom', {
    enumerable: true,
    get() {
      throw new Error('hostile getter');
    },
  });
  const hostile = [
    { features: wide, prediction: { label: 'wide' } },
    { features: { text: 'y'.repeat(5 * 1024 * 1024) }, prediction: { score: 0.5 } },
    { features: circular },
    { features: throwing },
    { features: { big: 10n ** 400n, sym: Symbol('s'), fn: () => 1 }, latencyMs: -1 },
  ];
  hostile.forEach((event, k) => {
    const id = `${prefix}-hostile-${k}`;
    ids.push(id);
    list.push({ ...event, id });
  });
  list.push(null); // not an object: a dead letter
  return { list, ids };
}

/** Complete lines in the spool files of `dir`: counted here from the files, not by the logger. */
function linesInSpool(dir: string): number {
  let lines = 0;
  for (const name of readdirSync(dir))
    if (name.endsWith('.ndjson')) lines += readFileSync(join(dir, name), 'utf8').split('\n').length - 1;
  return lines;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('close() under load (slow cluster behind a proxy)', () => {
  it('a short timeout: resolves with what is left in the spool and warns once, naming it; spool flush delivers it', async () => {
    const ns = uniqueNamespace('closeshort');
    const stream = `logs-mlmon.prediction-${ns}`;
    const dir = tempSpoolDir('closeshort');
    // Every bulk request is held 3 s before Elasticsearch sees it: a loaded cluster.
    proxy.delayMs = ({ path }) => (path.startsWith('/_bulk') ? 3000 : 0);
    const warnings: string[] = [];
    const logger = createPredictionLogger({
      node: proxy.url,
      namespace: ns,
      model: { name: 'closeshort' },
      spool: { dir },
      onWarning: (m) => warnings.push(m),
    });
    const { list, ids } = events('s');
    for (const event of list) logger.logPrediction(event as PredictionEvent);
    const result = await logger.close({ timeoutMs: 200 });
    proxy.delayMs = () => 0;

    // 20,001 accepted (19,995 + 6 hostile, the null one included); within 200 ms of a 3 s delay
    // nothing can have been answered, so nothing is indexed and everything is left.
    expect(result.accepted).toBe(20_001);
    expect(result.timedOut).toBe(true);
    expect(result.pending).toBeGreaterThan(0);
    // Every accepted document is indexed, dead-lettered, dropped, or left: nothing unaccounted for.
    expect(result.indexed + result.deadLettered + result.dropped + result.pending).toBe(20_001);
    expect(result.dropped).toBe(0);
    expect(result.spool?.dir).toBe(dir);
    // What the files hold, counted independently.
    expect(linesInSpool(dir)).toBe(result.pending);
    const left = warnings.filter((w) => w.includes('close() left'));
    expect(left).toHaveLength(1);
    expect(left[0]).toContain(`left ${result.pending} document(s) undelivered in the spool ${dir}`);
    expect(left[0]).toContain(`mlmon spool flush --dir ${dir}`);
    expect(left[0]).not.toContain('\n');

    // The command line delivers it (real Elasticsearch, no proxy).
    const out = new Sink();
    const err = new Sink();
    const saved = process.env.ES_URL;
    process.env.ES_URL = esUrl();
    let code: number;
    try {
      code = await spoolFlushCommand(['--dir', dir, '--format', 'json'], { stdout: out, stderr: err });
    } finally {
      process.env.ES_URL = saved;
    }
    expect(code).toBe(0);
    const summary = JSON.parse(out.text) as {
      read: number;
      indexed: number;
      deadLettered: number;
      left: { events: number };
    };
    expect(summary.read).toBe(result.pending);
    expect(summary.indexed + summary.deadLettered).toBe(result.pending);
    expect(summary.left.events).toBe(0);
    expect(linesInSpool(dir)).toBe(0);
    // Every id exactly once (the aborted requests the proxy forwarded late may have stored some:
    // the re-send look-up keeps them single), and the null event as one dead letter.
    expect(compareIds(ids, await countsById(client, stream))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect(await countDocs(client, `logs-mlmon.deadletter-${ns}`)).toBe(1);
  }, 300_000);

  it('timeoutMs: Infinity waits until everything is indexed, and says nothing is left', async () => {
    const ns = uniqueNamespace('closeinf');
    const stream = `logs-mlmon.prediction-${ns}`;
    const dir = tempSpoolDir('closeinf');
    proxy.delayMs = ({ path }) => (path.startsWith('/_bulk') ? 1000 : 0);
    const warnings: string[] = [];
    const logger = createPredictionLogger({
      node: proxy.url,
      namespace: ns,
      model: { name: 'closeinf' },
      spool: { dir },
      closeTimeoutMs: 200, // overridden by the call
      onWarning: (m) => warnings.push(m),
    });
    const { list, ids } = events('i');
    for (const event of list) logger.logPrediction(event as PredictionEvent);
    const result = await logger.close({ timeoutMs: Infinity });
    proxy.delayMs = () => 0;
    // 20,000 objects indexed, the null one dead-lettered, nothing left.
    expect(result).toMatchObject({
      accepted: 20_001,
      indexed: 20_000,
      deadLettered: 1,
      dropped: 0,
      pending: 0,
      timedOut: false,
    });
    expect(result.spool).toMatchObject({ dir, files: 0, bytes: 0 });
    expect(linesInSpool(dir)).toBe(0);
    expect(warnings.filter((w) => w.includes('close() left'))).toEqual([]);
    expect(compareIds(ids, await countsById(client, stream))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
  }, 300_000);
});
