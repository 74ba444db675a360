/**
 * `mlmon collect` over real HTTP on 127.0.0.1 against the real Elasticsearch: mlmon-shaped
 * JSON/NDJSON, KServe V1/V2 and Seldon CloudEvents (fixtures in ./fixtures, their sources noted
 * there), hostile bodies, auth, an outage with restart.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../../src/collector/server.js';
import type { CollectorMapping } from '../../src/schema/config.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { TemplateDowngradeError } from '../../src/elastic/templates.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates, sleep, tempSpoolDir } from '../logger/helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents and answers read back as JSON
type Doc = Record<string, any>;

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const quiet = { onWarning: () => {} };
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as {
    request: { headers: Record<string, string>; body: unknown };
    response: { headers: Record<string, string>; body: unknown };
  };

const ns = uniqueNamespace('collect');
let collector: Collector;
const mappings: CollectorMapping[] = [
  {
    match: 'sklearn-iris',
    model: { name: 'iris', version: '1' },
    features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    outputs: { predictions: 'label' },
  },
  {
    match: 'iris-v2',
    features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    outputs: { predict_proba: 'probabilities' },
    classes: ['setosa', 'versicolor', 'virginica'],
  },
  { match: 'seldon-model', model: { name: 'seldon-model' }, outputs: { data: 'score' } },
];

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  let json: Doc = {};
  try {
    json = JSON.parse(text) as Doc;
  } catch {
    json = { text };
  }
  return { status: response.status, body: json, headers: response.headers };
}

async function sources(index: string, ids: string[]): Promise<Map<string, Doc>> {
  await client.indices.refresh({ index, ignore_unavailable: true });
  const response = await client.search({ index, size: 1000, query: { ids: { values: ids } } });
  return new Map(response.hits.hits.map((h) => [h._id as string, h._source as Doc]));
}

beforeAll(async () => {
  // A cluster shared with a newer checkout may hold newer templates: those serve as well.
  await ensureTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
  collector = await startCollector({
    port: 0,
    pairTimeoutMs: 1500,
    models: ['fraud', 'iris', 'iris-v2', 'seldon-model'],
    mappings,
    logger: {
      node: esUrl(),
      namespace: ns,
      model: { name: 'fraud', version: '3' },
      spool: { dir: tempSpoolDir('collect') },
      ...quiet,
    },
  });
}, 60_000);

afterAll(async () => {
  await collector?.close();
  await client.close();
});

function predictions(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    timestamp: new Date(Date.UTC(2026, 11, 1, 10, 0, i)).toISOString(),
    features: { amount: i * 1.5, country: i % 2 ? 'de' : 'fr', nested: { a: i } },
    prediction: { label: String(i % 2), score: (i % 10) / 10 },
    latencyMs: 1 + (i % 5),
    labels: { region: 'eu' },
  }));
}

describe('POST /v1/predictions and /v1/outcomes', () => {
  it('stores what createPredictionLogger stores for the same predictions: same ids, same fields', async () => {
    const events = predictions(20, 'same');
    const a = await post(`${collector.url}/v1/predictions`, JSON.stringify(events.slice(0, 10)));
    const ndjson = events
      .slice(10)
      .map((e) => JSON.stringify(e))
      .join('\n');
    const b = await post(`${collector.url}/v1/predictions`, ndjson, {
      'content-type': 'application/x-ndjson',
    });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    // 10 + 10 events, all indexed (Elasticsearch is up): the answer comes after they are durable.
    expect(a.body.indexed + b.body.indexed).toBe(20);
    expect([...a.body.ids, ...b.body.ids]).toEqual(events.map((e) => e.id));

    const ns2 = uniqueNamespace('collectref');
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns2,
      model: { name: 'fraud', version: '3' },
      spool: false,
      ...quiet,
    });
    for (const e of events) logger.logPrediction(e);
    expect(await logger.flush(60_000)).toBe(true);
    await logger.close();

    const ids = events.map((e) => e.id);
    const mine = await sources(`logs-mlmon.prediction-${ns}`, ids);
    const theirs = await sources(`logs-mlmon.prediction-${ns2}`, ids);
    expect(mine.size).toBe(20);
    for (const id of ids) {
      const m = mine.get(id) as Doc;
      const t = theirs.get(id) as Doc;
      // Only the namespace differs (each wrote into its own), and when the batch was sent.
      expect(m.data_stream.namespace).toBe(ns);
      const same = (d: Doc) => ({
        ...d,
        data_stream: { ...d.data_stream, namespace: 'x' },
        event: { ...(d.event as object), ingested: 'x' },
      });
      expect(same(m)).toEqual(same(t));
    }
    expect(mine.get('same-3')?.features).toEqual({ amount: 4.5, country: 'de', 'nested.a': 3 });
  }, 120_000);

  it('stores a re-sent batch once, and an outcome re-sent once too', async () => {
    const events = predictions(5, 'resent');
    for (let i = 0; i < 3; i++)
      expect((await post(`${collector.url}/v1/predictions`, JSON.stringify(events))).status).toBe(200);
    const outcome = { id: 'resent-1', actual: { label: '0' }, timestamp: '2026-12-01T11:00:00Z' };
    const o1 = await post(`${collector.url}/v1/outcomes`, JSON.stringify(outcome));
    const o2 = await post(`${collector.url}/v1/outcomes`, JSON.stringify([outcome]));
    expect(o1.status).toBe(200);
    expect(o2.body.ids).toEqual(o1.body.ids);
    const counts = await countsById(client, `logs-mlmon.prediction-${ns}`);
    const { missing, duplicated } = compareIds(
      events.map((e) => e.id),
      counts,
    );
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
    const outcomes = await countsById(client, `logs-mlmon.outcome-${ns}`);
    expect(outcomes.get('resent-1')).toBe(1);
  }, 60_000);

  it('rejects the bad lines of an NDJSON batch with their numbers and stores the rest', async () => {
    const good = predictions(3, 'partial');
    const body = [
      JSON.stringify(good[0]),
      '{"id":"partial-x","features":{"a":1',
      JSON.stringify(good[1]),
      '42',
      JSON.stringify(good[2]),
    ].join('\n');
    const r = await post(`${collector.url}/v1/predictions`, body, { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(400);
    // Lines 2 (truncated JSON) and 4 (not an object) of 5.
    expect(r.body.rejected.map((x: Doc) => x.line)).toEqual([2, 4]);
    expect(r.body.rejected[0].reason).toMatch(/^not valid JSON/);
    expect(r.body.error).toMatch(/^2 of 5 lines rejected; first: line 2: not valid JSON/);
    expect(r.body.ids).toEqual(['partial-0', 'partial-1', 'partial-2']);
    const counts = await countsById(client, `logs-mlmon.prediction-${ns}`);
    expect(compareIds(r.body.ids, counts).missing).toEqual([]);
    expect(counts.has('partial-x')).toBe(false);
  }, 60_000);
});

describe('hostile bodies', () => {
  it('answers each with the right status and reason, and keeps serving', async () => {
    const url = `${collector.url}/v1/predictions`;
    const truncated = await post(url, '[{"id":"t","features":{"a":1}');
    expect(truncated.status).toBe(400);
    expect(truncated.body.error).toMatch(/^not valid JSON/);

    const big = await post(url, JSON.stringify({ features: { blob: 'x'.repeat(10 * 1024 * 1024) } }));
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('the body is larger than the limit of 1048576 bytes');

    const wrongType = await post(url, 'features=1', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);

    const nan = await post(url, '{"features":{"a":NaN},"prediction":{"value":1}}');
    expect(nan.status).toBe(400);
    expect(nan.body.error).toMatch(/NaN and Infinity are not JSON/);

    const unknown = await post(url, JSON.stringify({ model: { name: 'nobody' }, features: { a: 1 } }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_model');

    const notObject = await post(url, '"just a string"');
    expect(notObject.status).toBe(400);

    // 10,000 features: stored with the first 1,000 (the logger's documented limit) and the
    // rest counted in mlmon.quality.features_dropped (10,000 - 1,000 = 9,000).
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, i]));
    const w = await post(url, JSON.stringify({ id: 'wide-1', features: wide, prediction: { value: 1 } }));
    expect(w.status).toBe(200);
    const doc = (await sources(`logs-mlmon.prediction-${ns}`, ['wide-1'])).get('wide-1') as Doc;
    expect(Object.keys(doc.features)).toHaveLength(1000);
    expect(doc.mlmon.quality.features_dropped).toBe(9000);

    const events = `${collector.url}/v1/events`;
    const v2 = fixture('kserve-v2.json');
    const badTensor = structuredClone(v2.request) as Doc;
    badTensor.headers['ce-id'] = 'bad-tensor';
    badTensor.body.inputs[0].data.pop(); // shape [2, 4] holds 8 values; 7 left
    const bt = await post(events, JSON.stringify(badTensor.body), badTensor.headers);
    expect(bt.status).toBe(400);
    expect(bt.body.error).toBe('tensor "input-0": shape [2, 4] holds 8 values, data has 7');

    const unknownService = await post(events, JSON.stringify(v2.request.body), {
      ...v2.request.headers,
      'ce-id': 'u1',
      'ce-inferenceservicename': 'nobody',
    });
    expect(unknownService.status).toBe(400);
    expect(unknownService.body.code).toBe('unknown_model');

    const notCe = await post(events, '{}', { 'content-type': 'application/json' });
    expect(notCe.status).toBe(400);
    expect(notCe.body.code).toBe('not_cloudevent');

    // Still serving.
    expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);
    expect((await post(url, JSON.stringify(predictions(1, 'after')))).status).toBe(200);
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    expect(metrics).toMatch(/mlmon_collect_rejected_total\{reason="too_large"\} 1/);
    expect(metrics).toMatch(/mlmon_collect_rejected_total\{reason="unsupported_media_type"\} 1/);
    expect(metrics).toMatch(
      /mlmon_collect_request_duration_seconds_count\{route="\/v1\/predictions",status="200"\}/,
    );
  }, 120_000);
});

describe('KServe and Seldon CloudEvents', () => {
  const events = () => `${collector.url}/v1/events`;
  const send = (half: { headers: Record<string, string>; body: unknown }, id?: string) =>
    post(events(), JSON.stringify(half.body), id ? { ...half.headers, 'ce-id': id } : half.headers);

  it('pairs V1 request and response into one prediction per instance, in either order, duplicates once', async () => {
    const f = fixture('kserve-v1.json');
    const r1 = await send(f.request);
    expect(r1.body.status).toBe('pending');
    const r2 = await send(f.response);
    expect(r2.status).toBe(200);
    expect(r2.body.status).toBe('paired');
    // Reverse order, with each half sent twice: the second copy of a half is "already there" in the
    // pairs index; a copy sent after the pair was stored waits, then its prediction is found stored.
    const id2 = 'reverse-1';
    expect((await send(f.response, id2)).body.status).toBe('pending');
    expect((await send(f.response, id2)).body.status).toBe('pending');
    expect((await send(f.request, id2)).body.status).toBe('paired');
    expect(['paired', 'pending']).toContain((await send(f.request, id2)).body.status);
    // pairTimeoutMs is 1,500 in this file: let the sweep settle the late copy before counting.
    await sleep(2500);
    await collector.pairs.sweep();
    const key = f.request.headers['ce-id'] as string;
    const ids = [`${key}-0`, `${key}-1`, `${id2}-0`, `${id2}-1`];
    const counts = await countsById(client, `logs-mlmon.prediction-${ns}`);
    const { missing, duplicated } = compareIds(ids, counts);
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
    const doc = (await sources(`logs-mlmon.prediction-${ns}`, [`${key}-0`])).get(`${key}-0`) as Doc;
    expect(doc.features).toEqual({
      sepal_length: 6.8,
      sepal_width: 2.8,
      petal_length: 4.8,
      petal_width: 1.4,
    });
    expect(doc.prediction.label).toBe('1');
    expect(doc.model).toEqual({ name: 'iris', version: '1' });
    expect(doc['@timestamp']).toBe('2026-12-02T10:00:00.000Z');
    // ce-time 10:00:00.012 - 10:00:00.000 = 12 ms = 12,000,000 ns.
    expect(doc.event.duration).toBe(12_000_000);
  }, 60_000);

  it('maps V2 tensors (row-major) to features and class probabilities', async () => {
    const f = fixture('kserve-v2.json');
    expect((await send(f.response)).body.status).toBe('pending');
    expect((await send(f.request)).body.status).toBe('paired');
    const key = f.request.headers['ce-id'] as string;
    const docs = await sources(`logs-mlmon.prediction-${ns}`, [`${key}-0`, `${key}-1`]);
    const second = docs.get(`${key}-1`) as Doc;
    // Row 1 of data [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6] with shape [2, 4] is the last four.
    expect(second.features).toEqual({
      sepal_length: 6.0,
      sepal_width: 3.4,
      petal_length: 4.5,
      petal_width: 1.6,
    });
    expect(second.prediction.probabilities).toEqual({ setosa: 0.05, versicolor: 0.15, virginica: 0.8 });
    expect(second.prediction.label).toBe('virginica'); // argmax of row 1
    expect(docs.get(`${key}-0`)?.prediction.label).toBe('versicolor'); // 0.7 in row 0
    expect(second.model).toEqual({ name: 'default/iris-v2', version: 'v1.0.0' }); // ce-namespace / model_name, model_version
  }, 60_000);

  it('pairs Seldon events by ce-requestid (their ce-id differ)', async () => {
    const f = fixture('seldon.json');
    expect((await send(f.request)).body.status).toBe('pending');
    expect((await send(f.response)).body.status).toBe('paired');
    // The node's prediction id: <requestid>/<modelid> (each node of a graph is its own prediction).
    const id = 'bq4g6ss3ouc2d3eshb2g/classifier';
    const doc = (await sources(`logs-mlmon.prediction-${ns}`, [id])).get(id) as Doc;
    expect(doc.features).toEqual({ a: 1, b: 2 });
    expect(doc.prediction.score).toBe(0.1951846770138402);
    expect(doc.labels).toEqual({
      endpoint: 'example',
      kubernetes_namespace: 'seldon',
      inference_service: 'seldon-model',
      model_id: 'classifier',
    });
  }, 60_000);

  it('stores a request alone as a prediction without output, and a response alone as a dead letter', async () => {
    const f = fixture('kserve-v1.json');
    const id = 'lonely-1';
    expect((await send(f.request, id)).body.status).toBe('pending');
    expect((await send(f.response, 'lonely-2')).body.status).toBe('pending');
    // pairTimeoutMs is 1,500 in this file; the sweep runs every ~375 ms.
    const deadline = Date.now() + 30_000;
    let letters: Doc[] = [];
    let alone: Map<string, Doc> = new Map();
    while (Date.now() < deadline) {
      alone = await sources(`logs-mlmon.prediction-${ns}`, [`${id}-0`, `${id}-1`]);
      await client.indices.refresh({ index: `logs-mlmon.deadletter-${ns}`, ignore_unavailable: true });
      // The dead-letter stream is created by this very sweep: until its shard has started, a search
      // answers no_shard_available_action_exception (seen in CI): not there yet, look again.
      const r = await client
        .search({
          index: `logs-mlmon.deadletter-${ns}`,
          ignore_unavailable: true,
          query: { ids: { values: ['lonely-2/response-unpaired'] } },
        })
        .catch(() => undefined);
      letters = r ? r.hits.hits.map((h) => h._source as Doc) : [];
      if (letters.length > 0 && alone.size === 2) break;
      await sleep(200);
    }
    // The request's two instances (fixture iris-input.json), features only.
    expect(alone.get(`${id}-0`)?.features).toEqual({
      sepal_length: 6.8,
      sepal_width: 2.8,
      petal_length: 4.8,
      petal_width: 1.4,
    });
    expect(alone.get(`${id}-0`)?.prediction?.label).toBeUndefined();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.error.type).toBe('mlmon_unpaired_event');
    expect(letters[0]?.error.message).toBe('kserve response event lonely-2 got no request within 1.5 s');
  }, 60_000);

  it('pairs halves answered before their partner was read: stored by the replicas at close, not the sweep, and counted', async () => {
    // Two replicas, the halves of each inference posted at the same moment to different replicas:
    // most halves find no partner at their first look and are answered `pending` before the read
    // that decides who stores the pair. The wait is 60 s, so nothing here is left to a sweep: every
    // prediction must be stored by the replicas themselves, those still pairing when close() is
    // called included, and counted in /metrics.
    const f = fixture('kserve-v1.json');
    const ns4 = uniqueNamespace('collectlate');
    const replicas = await Promise.all(
      [0, 1].map(() =>
        startCollector({
          port: 0,
          pairTimeoutMs: 60_000,
          mappings,
          logger: { node: esUrl(), namespace: ns4, model: { name: 'fraud' }, spool: false, ...quiet },
        }),
      ),
    );
    const [a, b] = replicas as [Collector, Collector];
    const n = 60;
    const ids = Array.from({ length: n }, (_, i) => `late-${i}`);
    const answers = await Promise.all(
      ids.flatMap((id, i) => [
        post(`${(i % 2 ? a : b).url}/v1/events`, JSON.stringify(f.request.body), {
          ...f.request.headers,
          'ce-id': id,
        }),
        post(`${(i % 2 ? b : a).url}/v1/events`, JSON.stringify(f.response.body), {
          ...f.response.headers,
          'ce-id': id,
        }),
      ]),
    );
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    await Promise.all(replicas.map((r) => r.close()));
    // close() waits for the pairings still running after their answers, and for the deletes of
    // the halves they settled (the child-process test in cli.test.ts shows what is left otherwise).
    expect(replicas.map((r) => r.pairs.inFlight)).toEqual([0, 0]);
    await client.indices.refresh({ index: `mlmon-pairs-${ns4}` });
    expect((await client.count({ index: `mlmon-pairs-${ns4}` })).count).toBe(0);
    // Two predictions per inference (the fixture's two instances), each once.
    const counts = await countsById(client, `logs-mlmon.prediction-${ns4}`);
    const { missing, duplicated, unexpected } = compareIds(
      ids.flatMap((id) => [`${id}-0`, `${id}-1`]),
      counts,
    );
    expect({ missing, duplicated, unexpected }).toEqual({ missing: [], duplicated: [], unexpected: [] });
    // mlmon_collect_events_stored_total{kind="prediction"} of both replicas: every stored
    // prediction, whichever replica stored it and whether before or after the answer (a pair stored
    // by both, where the order of writes cannot be told, counts twice: at least 2n).
    let stored = 0;
    for (const r of replicas)
      for (const v of (await r.metrics.stored.get()).values)
        if (v.labels.kind === 'prediction') stored += v.value;
    expect(stored).toBeGreaterThanOrEqual(2 * n);
  }, 120_000);
});

describe('auth', () => {
  it('401 without a token and with a wrong one (same answer), 2xx with the right one', async () => {
    const secured = await startCollector({
      port: 0,
      tokens: ['s3cret-token'],
      logger: { node: esUrl(), namespace: ns, model: { name: 'fraud' }, spool: false, ...quiet },
    });
    try {
      const body = JSON.stringify(predictions(1, 'auth'));
      const none = await post(`${secured.url}/v1/predictions`, body);
      const wrong = await post(`${secured.url}/v1/predictions`, body, {
        'content-type': 'application/json',
        authorization: 'Bearer s3cret-tokeN',
      });
      const right = await post(`${secured.url}/v1/predictions`, body, {
        'content-type': 'application/json',
        authorization: 'Bearer s3cret-token',
      });
      const key = await post(`${secured.url}/v1/predictions`, body, {
        'content-type': 'application/json',
        'x-api-key': 's3cret-token',
      });
      expect([none.status, wrong.status, right.status, key.status]).toEqual([401, 401, 200, 200]);
      expect(wrong.body).toEqual(none.body);
    } finally {
      await secured.close();
    }
  }, 60_000);
});

describe('Elasticsearch down', () => {
  it('answers 429 with Retry-After once buffer + spool reach the cap, and drops nothing it acknowledged', async () => {
    const dir = tempSpoolDir('collect-full');
    const full = await startCollector({
      port: 0,
      logger: {
        node: 'http://127.0.0.1:9',
        namespace: uniqueNamespace('collectfull'),
        model: { name: 'fraud' },
        spool: { dir, maxBytes: 256 * 1024 },
        bufferMaxBytes: 64 * 1024,
        retryBaseMs: 50,
        closeTimeoutMs: 200,
        ...quiet,
      },
    });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      let acknowledged = 0;
      for (let i = 0; i < 400 && !statuses.includes(429); i++) {
        const r = await post(`${full.url}/v1/predictions`, JSON.stringify(predictions(20, `full-${i}`)));
        statuses.push(r.status);
        if (r.status === 200) acknowledged += r.body.spooled;
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
      }
      // 20 predictions of ~250 bytes a request: the 256 KiB cap is reached after a few dozen.
      expect(statuses.at(-1)).toBe(429);
      expect(retryAfter).toBe('10');
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(acknowledged).toBe(20 * statuses.filter((s) => s === 200).length);
      expect(full.core.counters.dropped).toBe(0);
      expect(full.core.shipper.spoolBytes).toBeLessThanOrEqual(256 * 1024);
      expect((await fetch(`${full.url}/healthz`)).status).toBe(200);
    } finally {
      await full.close();
    }
  }, 120_000);

  it('acknowledges into the spool, and a collector restarted on the same spool stores each once', async () => {
    const dir = tempSpoolDir('collect-outage');
    const ns3 = uniqueNamespace('collectout');
    const down = await startCollector({
      port: 0,
      pairTimeoutMs: 60_000,
      logger: {
        node: 'http://127.0.0.1:9',
        namespace: ns3,
        model: { name: 'fraud' },
        spool: { dir },
        retryBaseMs: 50,
        requestTimeoutMs: 2000,
        closeTimeoutMs: 500,
        ...quiet,
      },
    });
    const events = predictions(30, 'outage');
    const answers = await Promise.all(
      [0, 10, 20].map((i) => post(`${down.url}/v1/predictions`, JSON.stringify(events.slice(i, i + 10)))),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.reduce((n, a) => n + a.body.spooled, 0)).toBe(30);
    // One KServe half arrives while down: kept in the journal across the restart.
    const f = fixture('kserve-v1.json');
    expect(
      (
        await post(`${down.url}/v1/events`, JSON.stringify(f.request.body), {
          ...f.request.headers,
          'ce-id': 'across-1',
        })
      ).body.status,
    ).toBe('spooled');
    await down.close();

    const up = await startCollector({
      port: 0,
      pairTimeoutMs: 1500,
      mappings,
      logger: { node: esUrl(), namespace: ns3, model: { name: 'fraud' }, spool: { dir }, ...quiet },
    });
    try {
      const r = await post(`${up.url}/v1/events`, JSON.stringify(f.response.body), {
        ...f.response.headers,
        'ce-id': 'across-1',
      });
      // Paired at once when the spool replayed the request first, else by the sweep.
      expect(['paired', 'pending']).toContain(r.body.status);
      let counts = new Map<string, number>();
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(300)) {
        expect(await up.core.flush(60_000)).toBe(true);
        counts = await countsById(client, `logs-mlmon.prediction-${ns3}`);
        if (counts.has('across-1-1')) break;
      }
      const { missing, duplicated, unexpected } = compareIds(
        [...events.map((e) => e.id), 'across-1-0', 'across-1-1'],
        counts,
      );
      expect({ missing, duplicated, unexpected }).toEqual({ missing: [], duplicated: [], unexpected: [] });
    } finally {
      await up.close();
    }
  }, 120_000);
});
