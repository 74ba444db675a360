/**
 * The bytes of KServe / Seldon halves one request to Elasticsearch carries (issue 24, memory):
 * `PairStore`'s `_bulk` of halves, its `_mget` of partners and its sweep, each bounded by
 * `maxRequestBytes`, against the real Elasticsearch. Observed through the client's own transport
 * (its UndiciConnection, subclassed only to record the size of each request body and of each
 * answer it read, or that it dropped one over its `maxResponseSize`).
 *
 * The bound is 1 MiB here and the large halves ~200 KB (a 200,000-character string feature), so
 * that five fit in one request and six do not (each is ~200,500 bytes with its document and
 * action line: 5 x 200,500 = 1,002,500 <= 1,048,576 < 6 x 200,500).
 */
import {
  Client,
  UndiciConnection,
  type ConnectionRequestOptions,
  type ConnectionRequestOptionsAsStream,
  type ConnectionRequestParams,
  type ConnectionRequestResponse,
  type ConnectionRequestResponseAsStream,
} from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Half } from '../../src/collector/cloudevents.js';
import { pairKey, PairStore } from '../../src/collector/pairs.js';
import { TemplateDowngradeError } from '../../src/elastic/templates.js';
import { LoggerCore } from '../../src/logger/core.js';
import { pairsIndex } from '../../src/schema/streams.js';
import { testClient, testConnection, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates, sleep, tempSpoolDir } from '../logger/helpers.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const MiB = 2 ** 20;
const BOUND = MiB;
const LARGE = 200_000;

/** One request the collector's client sent to the pairs index. */
interface Seen {
  path: string;
  /** Bytes of the request body. */
  sent: number;
  /** Bytes of the answer read; undefined when dropped over `maxResponseSize`. */
  received?: number;
  /** `_mget`: ids asked for. */
  ids?: number;
  /** `_bulk`: documents written (creates) and deletes. */
  creates?: number;
  deletes?: number;
}

let seen: Seen[] = [];
let watched = '';

const bodyText = (body: ConnectionRequestParams['body']) =>
  typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString() : '';

/** The real transport, recording what it sent to and read from the pairs index. */
class Recording extends UndiciConnection {
  override request(
    params: ConnectionRequestParams,
    options: ConnectionRequestOptions,
  ): Promise<ConnectionRequestResponse>;
  override request(
    params: ConnectionRequestParams,
    options: ConnectionRequestOptionsAsStream,
  ): Promise<ConnectionRequestResponseAsStream>;
  override async request(
    params: ConnectionRequestParams,
    options: ConnectionRequestOptions | ConnectionRequestOptionsAsStream,
  ): Promise<ConnectionRequestResponse | ConnectionRequestResponseAsStream> {
    const text = bodyText(params.body);
    const mine = params.path.startsWith(`/${watched}/`) || text.includes(`"_index":"${watched}"`);
    if (!watched || !mine) return super.request(params, options as ConnectionRequestOptions);
    const entry: Seen = { path: params.path, sent: Buffer.byteLength(text) };
    if (params.path.endsWith('/_mget')) entry.ids = (JSON.parse(text) as { ids: string[] }).ids.length;
    if (params.path.endsWith('/_bulk')) {
      entry.creates = text.split('\n').filter((l) => l.startsWith('{"create"')).length;
      entry.deletes = text.split('\n').filter((l) => l.startsWith('{"delete"')).length;
    }
    seen.push(entry);
    const response = await super.request(params, options as ConnectionRequestOptions);
    entry.received = Buffer.byteLength(bodyText(response.body as string | Buffer));
    return response;
  }
}

let recording: Client;
let core: LoggerCore | undefined;
let store: PairStore | undefined;

/** A PairStore on its own namespace, as `mlmon collect` builds it, with a bound of 1 MiB. */
async function open(ns: string) {
  await store?.close();
  await core?.close();
  watched = pairsIndex(ns);
  seen = [];
  core = new LoggerCore({
    node: recording,
    namespace: ns,
    model: { name: 'fallback' },
    spool: { dir: tempSpoolDir('halves') },
    onWarning: () => {},
  });
  // A wait longer than the test: only the sweeps the test runs settle anything.
  store = new PairStore({
    index: pairsIndex(ns),
    timeoutMs: 300_000,
    core,
    mappings: [],
    onWarning: (m) => console.warn(m),
    maxRequestBytes: BOUND,
  });
  return { core, store };
}

beforeAll(async () => {
  await ensureTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
  recording = new Client({
    node: esUrl(),
    Connection: Recording,
    requestTimeout: 60_000,
    ...testConnection(),
  });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await core?.close();
  await recording?.close();
  await client.close();
});

const half = (role: Half['role'], key: string, body: unknown): Half => ({
  source: 'kserve',
  role,
  key,
  eventId: `${key}-${role}`,
  service: 'wide',
  component: 'predictor',
  receivedAt: Date.now(),
  body,
});
const large = (k: number) => ({ instances: [{ text: `${k}`.padEnd(LARGE, 'x') }] });
const small = { predictions: [1] };

/** Every request to the pairs index carried and read at most BOUND, unless it held one half (or one pair). */
function overBound(single: (s: Seen) => boolean) {
  return seen.filter((s) => !single(s) && (s.sent > BOUND || (s.received ?? 0) > BOUND));
}

async function waitForEmpty(index: string) {
  for (let i = 0; i < 60; i++) {
    await client.indices.refresh({ index, ignore_unavailable: true });
    const { count } = await client.count({ index, ignore_unavailable: true });
    if (count === 0) return 0;
    await sleep(500);
  }
  return -1;
}

describe('halves written and read in requests of at most maxRequestBytes', () => {
  it('31 large requests offered at once: _bulk bodies of 5 halves (one over the bound alone); their 31 responses read them in _mget answers within the bound; all paired once', async () => {
    const ns = uniqueNamespace('halves');
    const { store } = await open(ns);
    // 30 halves of ~200 KB and, in the middle, one of 1.5 MB: over the bound on its own.
    const keys = Array.from({ length: 31 }, (_, k) => `h-${k}`);
    const requests = keys.map((key, k) =>
      half('request', key, k === 10 ? { instances: [{ text: 'big'.padEnd(1.5 * MiB, 'y') }] } : large(k)),
    );
    // Offered in one turn of the event loop: one batch, had the batcher no byte bound.
    const pending = await Promise.all(requests.map((h) => store.offer(h)));
    expect(pending.map((o) => o.status)).toEqual(keys.map(() => 'pending'));
    const bulks = seen.filter((s) => s.creates);
    // In their order: 0-4, 5-9, 10 (alone), 11-15, 16-20, 21-25, 26-30.
    expect(bulks.map((b) => b.creates)).toEqual([5, 5, 1, 5, 5, 5, 5]);
    expect(overBound((s) => s.creates === 1)).toEqual([]);
    expect(bulks.find((b) => b.creates === 1)?.sent).toBeGreaterThan(1.5 * MiB);

    // Each response reads its request (~200 KB; 1.5 MB for h-10): 7.5 MB in all, asked for at once.
    seen = [];
    const answers = await Promise.all(keys.map((key) => store.offer(half('response', key, small))));
    // Paired now, or (should the pair be completed after the answer) pending: stored either way.
    expect(answers.filter((o) => o.status !== 'paired' && o.status !== 'pending')).toEqual([]);
    let counts = new Map<string, number>();
    for (let i = 0; i < 60 && counts.size < keys.length; i++) {
      if (i > 0) await sleep(500);
      counts = await countsById(client, `logs-mlmon.prediction-${ns}`);
    }
    expect(compareIds(keys, counts)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    const reads = seen.filter((s) => s.ids);
    const answered = reads.filter((r) => r.received !== undefined);
    const dropped = reads.length - answered.length;
    console.log(
      `halves: _mget of partners: ${reads.length} (${dropped} dropped over the bound), ids ${reads.map((r) => `${r.ids}${r.received === undefined ? '!' : ''}`).join(' ')}, largest answer ${Math.max(...answered.map((r) => r.received ?? 0))} bytes`,
    );
    expect(overBound((s) => s.ids === 1)).toEqual([]);
    // Every partner was read by some answer: the answers hold the 31 requests' text at least.
    expect(answered.reduce((sum, r) => sum + (r.received ?? 0), 0)).toBeGreaterThan(30 * LARGE + 1.5 * MiB);

    expect(await waitForEmpty(pairsIndex(ns))).toBe(0);
  }, 120_000);
});

/**
 * 40 halves as replicas leave them when they die between writing a half and reading its partner:
 * in the pairs index, received ten minutes ago (older than the wait). 10 complete pairs (a large
 * request, a small response), 10 large requests alone, 10 large responses alone: 30 large halves,
 * ~6 MB, six times the bound.
 */
async function leftHalves(ns: string) {
  const receivedAt = Date.now() - 600_000;
  const at = (h: Half): Half => ({ ...h, receivedAt });
  const pairs = Array.from({ length: 10 }, (_, k) => `p-${k}`);
  const requestsAlone = Array.from({ length: 10 }, (_, k) => `q-${k}`);
  const responsesAlone = Array.from({ length: 10 }, (_, k) => `r-${k}`);
  const halves = [
    ...pairs.flatMap((key, k) => [at(half('request', key, large(k))), at(half('response', key, small))]),
    ...requestsAlone.map((key, k) => at(half('request', key, large(100 + k)))),
    ...responsesAlone.map((key, k) =>
      at(half('response', key, { predictions: [`${k}`.padEnd(LARGE, 'z')] })),
    ),
  ];
  const operations = halves.flatMap((h) => {
    const key = pairKey(h);
    const doc = {
      pair: { key, role: h.role, source: h.source, received_at: new Date(receivedAt).toISOString(), half: h },
    };
    return [{ create: { _index: pairsIndex(ns), _id: `${key}.${h.role}` } }, doc];
  });
  const written = await client.bulk({ operations, refresh: true });
  expect(written.errors).toBe(false);
  return { pairs, requestsAlone, responsesAlone };
}

/** What the sweeps stored: each pair and request alone once as predictions, each response alone once as a dead letter. */
async function expectSettledOnce(ns: string, left: Awaited<ReturnType<typeof leftHalves>>) {
  const predictions = await countsById(client, `logs-mlmon.prediction-${ns}`);
  expect(compareIds([...left.pairs, ...left.requestsAlone], predictions)).toEqual({
    missing: [],
    duplicated: [],
    unexpected: [],
  });
  const withOutput = await client.count({
    index: `logs-mlmon.prediction-${ns}`,
    query: { exists: { field: 'prediction.value' } },
  });
  expect(withOutput.count).toBe(left.pairs.length);
  const letters = await countsById(client, `logs-mlmon.deadletter-${ns}`);
  expect(
    compareIds(
      left.responsesAlone.map((k) => `${k}/response-unpaired`),
      letters,
    ),
  ).toEqual({ missing: [], duplicated: [], unexpected: [] });
  expect(await waitForEmpty(pairsIndex(ns))).toBe(0);
}

describe('the sweep reads halves in groups of at most maxRequestBytes', () => {
  it('30 large halves left unpaired (10 complete pairs, 10 requests, 10 responses alone): all settled once, no answer over the bound', async () => {
    const ns = uniqueNamespace('sweepbytes');
    const { store, core } = await open(ns);
    const left = await leftHalves(ns);

    seen = [];
    const swept = await store.sweep();
    expect(swept).toMatchObject({ halves: 40, paired: 10, requestsAlone: 10, deadLettered: 10 });
    const reads = seen.filter((s) => s.path.endsWith('/_mget') || s.path.endsWith('/_search'));
    const answered = reads.filter((r) => r.received !== undefined);
    console.log(
      `halves: sweep: ${reads.length} requests (${reads.length - answered.length} dropped over the bound), _mget ids ${reads.map((r) => `${r.ids ?? 'search'}${r.received === undefined ? '!' : ''}`).join(' ')}, largest answer ${Math.max(...answered.map((r) => r.received ?? 0))} bytes`,
    );
    // A pair is read whole (2 ids): the one request allowed over the bound.
    expect(overBound((s) => s.ids === 2)).toEqual([]);
    // The bodies were read: 20 large halves of ~200 KB went through the answers.
    expect(answered.reduce((sum, r) => sum + (r.received ?? 0), 0)).toBeGreaterThan(20 * LARGE);

    await core.flush();
    await expectSettledOnce(ns, left);
    // Swept again: nothing left, nothing stored twice.
    expect(await store.sweep()).toMatchObject({ halves: 0, waiting: 0 });
  }, 120_000);

  it('two replicas sweeping the same 30 large halves at once: each stored once, no answer over the bound', async () => {
    const ns = uniqueNamespace('sweeptwo');
    const { store, core } = await open(ns);
    // A second replica: its own logger core and pair store, the same pairs index.
    const otherCore = new LoggerCore({
      node: recording,
      namespace: ns,
      model: { name: 'fallback' },
      spool: { dir: tempSpoolDir('halves') },
      onWarning: () => {},
    });
    const other = new PairStore({
      index: pairsIndex(ns),
      timeoutMs: 300_000,
      core: otherCore,
      mappings: [],
      onWarning: (m) => console.warn(m),
      maxRequestBytes: BOUND,
    });
    try {
      const left = await leftHalves(ns);
      seen = [];
      // Each sweeps until it finds nothing left to settle; a pair one of them skipped because
      // the other deleted a half under it is settled by a later sweep.
      const sweepUntilEmpty = async (s: PairStore) => {
        for (let i = 0; i < 20; i++) {
          const r = await s.sweep();
          if (r?.halves === 0 && r.waiting === 0) return;
          await sleep(200);
        }
      };
      await Promise.all([sweepUntilEmpty(store), sweepUntilEmpty(other)]);
      expect(overBound((s) => s.ids === 2)).toEqual([]);
      await Promise.all([core.flush(), otherCore.flush()]);
      await expectSettledOnce(ns, left);
    } finally {
      await other.close();
      await otherCore.close();
    }
  }, 120_000);
});
