/**
 * A proxy that refuses large bulk requests as a whole (413, as an nginx ingress with
 * `client_max_body_size` or Elastic Cloud's proxy does), in front of the real Elasticsearch: the
 * logger narrows its requests by halving them until they pass (src/logger/batch-limit.ts), stores
 * every prediction exactly once, dead-letters a document too large on its own, and does not send
 * the same refused request again and again (it did before: a hot loop, nothing stored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLogger, type PredictionLogger } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates, sleep, tempSpoolDir } from './helpers.js';
import { EsProxy, type ProxiedRequest } from './proxy.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
let proxy: EsProxy;
/**
 * Bulk requests seen, by the stream of their first document: counted as they come, since searching
 * a hot loop's thousands of 200 KB bodies made the proxy itself slow.
 */
const bulkCount = new Map<string, number>();

/** The proxy's body limit, bytes: the bulk of the 500 predictions below is about ten times this. */
const LIMIT = 20_000;
/**
 * Bulk requests for one stream past which the proxy answers 503 instead (the logger then backs off):
 * the code before bisection re-sent the refused request at once, for ever, and passed this in well
 * under a second. Far above the bound each test derives, so it only ends a hot loop.
 */
const CAP = 2_000;

beforeAll(async () => {
  await ensureTemplates(client);
  proxy = new EsProxy(esUrl());
  await proxy.start();
  proxy.decide = ({ path, body, bytes }) => {
    if (!path.startsWith('/_bulk')) return 'forward';
    const stream = /"_index":"([^"]+)"/.exec(body)?.[1] ?? '';
    const seen = (bulkCount.get(stream) ?? 0) + 1;
    bulkCount.set(stream, seen);
    if (seen > CAP) return 'fail503';
    return bytes > LIMIT ? 'tooLarge' : 'forward';
  };
});

afterAll(async () => {
  await proxy.stop();
  await client.close();
});

/** A prediction: about 490 bytes in the bulk body (action line, document, `event.ingested`). */
function event(i: number) {
  return {
    features: { amount: i * 1.5, country: i % 2 ? 'de' : 'fr' },
    prediction: { label: String(i % 2), score: (i % 10) / 10 },
    latencyMs: 1 + (i % 5),
  };
}

/**
 * Flushes, but gives up as soon as the proxy has seen more than CAP bulk requests for `stream` (a
 * hot loop), so the old code fails in a second instead of hammering for the flush timeout.
 */
async function flushOrHotLoop(logger: PredictionLogger, stream: string): Promise<boolean> {
  let flushed: boolean | undefined;
  void logger.flush(120_000).then((ok) => (flushed = ok));
  while (flushed === undefined && (bulkCount.get(stream) ?? 0) < CAP) await sleep(20);
  return flushed === true;
}

/** A logger on the proxy, with its own spool. */
function behindProxy(ns: string, onWarning: (message: string) => void): PredictionLogger {
  return createPredictionLogger({
    node: proxy.url,
    namespace: ns,
    model: { name: 'bisect' },
    spool: { dir: tempSpoolDir(ns) },
    // One flush cycle takes everything logged (built off the caller's path): the first request
    // carries it all, and flush() sends the rest.
    flushIntervalMs: 60_000,
    onWarning,
  });
}

/** Bulk requests with documents for `stream` (not dead letters naming it as their target). */
function bulksFor(stream: string): ProxiedRequest[] {
  return proxy.bulks().filter((r) => r.body.includes(`"_index":"${stream}"`));
}

describe('a proxy that answers 413 to bulk requests over 20 KB', () => {
  it('500 predictions (~10x the limit): narrowed until they pass, each stored once, in a bounded number of requests', async () => {
    const ns = uniqueNamespace('bisect');
    const stream = `logs-mlmon.prediction-${ns}`;
    const warnings: string[] = [];
    const logger = behindProxy(ns, (m) => warnings.push(m));
    try {
      const ids = Array.from({ length: 500 }, (_, i) => logger.logPrediction(event(i)));
      const delivered = await flushOrHotLoop(logger, stream);
      const bulks = bulksFor(stream);
      const refused = bulks.filter((r) => r.action === 'tooLarge');
      const passed = bulks.filter((r) => r.action === 'forward');
      // T: the bytes of all 500 documents, from the first request (which carried them all); s: its
      // largest document line (action and source).
      const total = bulks[0]?.bytes ?? 0;
      const line = Math.max(...bodyLines(bulks[0]?.body ?? ''));
      // The bound, derived from the rules in batch-limit.ts:
      // - the first request (all of T) and its halves are refused until one is at most LIMIT:
      //   ceil(log2(T / LIMIT)) + 1 refusals at most;
      // - a refused request had over LIMIT bytes (the logger counts about 40 bytes a line less than
      //   the wire: `event.ingested`, quotes), so the bound after it is over LIMIT / 2.2, and a
      //   request taken at a bound holds more than the bound minus one line (unless it takes the
      //   last documents): at most T / (LIMIT / 2.2 - s) + 1 requests pass;
      // - the bound grows only after the refused request's documents went through at half its size
      //   (two requests at least), and a grown bound is tried alone: one refusal per two passes.
      const firstRefusals = Math.ceil(Math.log2(total / LIMIT)) + 1;
      const passes = Math.ceil(total / (LIMIT / 2.2 - line)) + 1;
      const bound = firstRefusals + passes + Math.ceil(passes / 2);
      expect(bulks.length, `bulk requests seen (${refused.length} refused)`).toBeLessThanOrEqual(bound);
      expect(delivered).toBe(true);
      // About ten times the limit, as set up (so the bound above is not met by accident).
      expect(total).toBeGreaterThan(8 * LIMIT);
      expect(passed.every((r) => r.bytes <= LIMIT)).toBe(true);
      // The first request carried all 500 and was refused; the logger narrowed, never stopped.
      expect(bulks[0]?.action).toBe('tooLarge');
      expect(bodyLines(bulks[0]?.body ?? '')).toHaveLength(500);
      expect(compareIds(ids, await countsById(client, stream))).toEqual({
        missing: [],
        duplicated: [],
        unexpected: [],
      });
      const counters = await logger.close();
      expect(counters).toMatchObject({ accepted: 500, indexed: 500, deadLettered: 0, dropped: 0 });
      expect(counters.retried).toBe(0);
      const told = warnings.filter((m) => m.includes('413'));
      expect(told).toHaveLength(1);
      expect(told[0]).toMatch(
        /refused a bulk request of 500 documents .* with 413; sending smaller requests/,
      );
      expect(told[0]).toContain('batchMaxBytes');
    } finally {
      await logger.close({ timeoutMs: 1000 });
    }
  }, 180_000);

  it('a document larger than the limit on its own: dead-lettered with status 413, the others stored', async () => {
    const ns = uniqueNamespace('bisect1');
    const stream = `logs-mlmon.prediction-${ns}`;
    const deadStream = `logs-mlmon.deadletter-${ns}`;
    const logger = behindProxy(ns, () => {});
    try {
      const ids = Array.from({ length: 100 }, (_, i) => logger.logPrediction(event(i)));
      // 60 features of 500 characters: about 33 KB, over the limit with no neighbour.
      const features: Record<string, string> = {};
      for (let f = 0; f < 60; f++) features[`f${f}`] = `${f}`.padEnd(500, 'x');
      const big = logger.logPrediction({ features, prediction: { label: '1' } });
      for (let i = 100; i < 200; i++) ids.push(logger.logPrediction(event(i)));
      const delivered = await flushOrHotLoop(logger, stream);
      expect(bulksFor(stream).length).toBeLessThan(CAP);
      expect(delivered).toBe(true);
      // The big document was sent alone, and refused.
      const alone = bulksFor(stream).filter((r) => r.body.includes(big) && bodyLines(r.body).length === 1);
      expect(alone.map((r) => r.action)).toEqual(['tooLarge']);
      expect(compareIds(ids, await countsById(client, stream))).toEqual({
        missing: [],
        duplicated: [],
        unexpected: [],
      });
      expect(compareIds([big], await countsById(client, deadStream))).toEqual({
        missing: [],
        duplicated: [],
        unexpected: [],
      });
      const dead = await client.search<{
        error: { status: number; type: string };
        event: { original: string };
      }>({
        index: deadStream,
        query: { term: { 'prediction.id': big } },
      });
      const letter = dead.hits.hits[0]?._source;
      expect(letter?.error).toMatchObject({ status: 413, type: 'request_rejected' });
      // Its original is cut (to half the refused request) so that the dead letter passes the same proxy.
      expect(letter?.event.original.length).toBeLessThan(LIMIT);
      expect(letter?.event.original.startsWith('{')).toBe(true);
      const counters = await logger.close();
      expect(counters).toMatchObject({ accepted: 201, indexed: 200, deadLettered: 1, dropped: 0 });
    } finally {
      await logger.close({ timeoutMs: 1000 });
    }
  }, 180_000);
});

/** Bytes of each document's pair of lines (action and source) in a bulk body. */
function bodyLines(body: string): number[] {
  const lines = body.split('\n').filter((l) => l.length > 0);
  const sizes: number[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2)
    sizes.push(Buffer.byteLength(lines[i] as string) + Buffer.byteLength(lines[i + 1] as string) + 2);
  return sizes;
}
