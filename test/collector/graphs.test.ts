/**
 * `mlmon collect` as KServe and Seldon deployments use it (issue 24), over real HTTP against the
 * real Elasticsearch: inference graphs (each node its own prediction), logger `mode: request`,
 * Seldon feedback, hostile input (deep JSON, compressed bodies, odd ids), readiness that asks
 * Elasticsearch, and the metrics of halves.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServiceHealthJob } from '../../src/analyzer/service.js';
import { startCollector, type Collector } from '../../src/collector/server.js';
import { TemplateDowngradeError } from '../../src/elastic/templates.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { ensureTemplates, sleep, tempSpoolDir } from '../logger/helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents and answers read back as JSON
type Doc = Record<string, any>;

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const quiet = { onWarning: () => {} };
const ns = uniqueNamespace('graphs');
const predictionIndex = `logs-mlmon.prediction-${ns}`;
let collector: Collector;

beforeAll(async () => {
  await ensureTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
  collector = await startCollector({
    port: 0,
    pairTimeoutMs: 1500,
    maxPendingPairs: 10,
    logger: {
      node: esUrl(),
      namespace: ns,
      model: { name: 'fallback' },
      spool: { dir: tempSpoolDir('graphs') },
      ...quiet,
    },
  });
}, 60_000);

afterAll(async () => {
  await collector?.close();
  await client.close();
});

async function post(path: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(`${collector.url}${path}`, { method: 'POST', body, headers });
  const text = await response.text();
  let json: Doc = {};
  try {
    json = JSON.parse(text) as Doc;
  } catch {
    json = { text };
  }
  return { status: response.status, body: json };
}

/**
 * A request written byte by byte on a socket: repeated header names and raw UTF-8 bytes in a
 * header, which fetch would join or refuse.
 */
function rawPost(rawHeaders: string[], body: string): Promise<{ status: number; body: Doc }> {
  const url = new URL(`${collector.url}/v1/events`);
  let head = `POST /v1/events HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      const json = text.slice(text.indexOf('\r\n\r\n') + 4);
      let parsed: Doc = { text: json };
      try {
        parsed = JSON.parse(json) as Doc;
      } catch {
        // not JSON: kept as text
      }
      resolve({ status, body: parsed });
    });
    // Written, not ended: the server closes the connection after its answer (connection: close).
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
  });
}

const kserve = (role: 'request' | 'response', id: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-type': `org.kubeflow.serving.inference.${role}`,
  'ce-source': 'http://localhost:9081/',
  'ce-inferenceservicename': 'sk-graph',
  'ce-namespace': 'team-a',
  'ce-component': 'predictor',
  'ce-endpoint': 'default',
  ...extra,
});

const seldon = (type: string, node: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': `${type}-${node}-${Math.random()}`,
  'ce-type': `io.seldon.serving.${type}`,
  'ce-source': 'http://seldon-graph-default:8000/',
  'ce-requestid': 'sg-1',
  'ce-modelid': node,
  'ce-inferenceservicename': 'seldon-graph',
  'ce-namespace': 'seldon',
  'ce-endpoint': 'default',
  ...extra,
});

async function docs(
  ids: string[],
  index = predictionIndex,
  until = (m: Map<string, Doc>) => m.size === ids.length,
) {
  let found = new Map<string, Doc>();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(300)) {
    // A stream created a moment ago answers no_shard_available_action_exception until its shard has
    // started: not there yet, look again.
    const r = await client.indices
      .refresh({ index, ignore_unavailable: true })
      .then(() =>
        client.search({ index, ignore_unavailable: true, size: 1000, query: { ids: { values: ids } } }),
      )
      .catch(() => undefined);
    found = new Map(r?.hits.hits.map((h) => [h._id as string, h._source as Doc]) ?? []);
    if (until(found)) break;
  }
  return found;
}

describe('inference graphs: each node is its own prediction', () => {
  it('KServe transformer + predictor sharing a ce-id: two predictions with their own features and fields', async () => {
    const id = 'graph-1';
    const t = { 'ce-component': 'transformer' };
    // The transformer gets raw features and answers what the predictor answered; the predictor gets
    // the transformed (scaled) features. Interleaved, as the two loggers post them.
    const answers = [
      await post(
        '/v1/events',
        JSON.stringify({ instances: [[6.8, 2.8, 4.8, 1.4]] }),
        kserve('request', id, t),
      ),
      await post(
        '/v1/events',
        JSON.stringify({ instances: [[0.68, 0.28, 0.48, 0.14]] }),
        kserve('request', id),
      ),
      await post('/v1/events', JSON.stringify({ predictions: [2] }), kserve('response', id)),
      await post('/v1/events', JSON.stringify({ predictions: [2] }), kserve('response', id, t)),
    ];
    // Each second half pairs at once, or (a failed read under load) the sweep pairs it after 1.5 s.
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.slice(0, 2).map((a) => a.body.status)).toEqual(['pending', 'pending']);
    const found = await docs([id, `${id}/transformer`]);
    const predictor = found.get(id) as Doc;
    const transformer = found.get(`${id}/transformer`) as Doc;
    expect(predictor.features).toEqual({ f0: 0.68, f1: 0.28, f2: 0.48, f3: 0.14 });
    expect(transformer.features).toEqual({ f0: 6.8, f1: 2.8, f2: 4.8, f3: 1.4 });
    expect(predictor.model.name).toBe('team-a/sk-graph'); // <ce-namespace>/<service>
    expect(transformer.model.name).toBe('team-a/sk-graph-transformer');
    expect(predictor.labels).toEqual({
      endpoint: 'default',
      kubernetes_namespace: 'team-a',
      inference_service: 'sk-graph',
      component: 'predictor',
    });
    expect(transformer.labels.component).toBe('transformer');
  }, 60_000);

  it('a 2-node Seldon graph: one prediction per node (<requestid>/<modelid>), and feedback as an outcome', async () => {
    const message = (names: string[], rows: number[][]) => JSON.stringify({ data: { names, ndarray: rows } });
    const answers = [
      await post('/v1/events', message(['a', 'b'], [[1, 2]]), seldon('inference.request', 'transformer')),
      await post('/v1/events', message(['a2', 'b2'], [[2, 4]]), seldon('inference.response', 'transformer')),
      await post('/v1/events', message(['a2', 'b2'], [[2, 4]]), seldon('inference.request', 'classifier')),
      await post(
        '/v1/events',
        message(['p0', 'p1'], [[0.3, 0.7]]),
        seldon('inference.response', 'classifier'),
      ),
    ];
    expect(answers.map((a) => a.body.status)).toEqual(['pending', 'paired', 'pending', 'paired']);
    const found = await docs(['sg-1/transformer', 'sg-1/classifier']);
    const classifier = found.get('sg-1/classifier') as Doc;
    expect(found.get('sg-1/transformer')?.features).toEqual({ a: 1, b: 2 });
    expect(found.get('sg-1/transformer')?.model.name).toBe('seldon/transformer');
    expect(classifier.features).toEqual({ a2: 2, b2: 4 });
    expect(classifier.model.name).toBe('seldon/classifier');
    // [0.3, 0.7]: two classes → probabilities, label = argmax "1", score = the second class.
    expect(classifier.prediction).toMatchObject({ label: '1', score: 0.7 });
    expect(classifier.labels).toEqual({
      endpoint: 'default',
      kubernetes_namespace: 'seldon',
      inference_service: 'seldon-graph',
      model_id: 'classifier',
    });
    // Seldon feedback: truth one-hot [0, 1] → class "1", for the classifier node's prediction.
    const feedback = await post(
      '/v1/events',
      JSON.stringify({
        response: { meta: { puid: 'sg-1' } },
        truth: { data: { ndarray: [[0, 1]] } },
        reward: 1,
      }),
      seldon('feedback', 'classifier'),
    );
    expect(feedback.status).toBe(200);
    expect(feedback.body.predictions).toEqual(['sg-1/classifier']);
    const outcomes = await docs(feedback.body.outcomes as string[], `logs-mlmon.outcome-${ns}`);
    const outcome = [...outcomes.values()][0] as Doc;
    expect(outcome.prediction.id).toBe('sg-1/classifier');
    expect(outcome.actual.label).toBe('1');
  }, 60_000);
});

describe('the Kubernetes namespace in the model name', () => {
  it('the same InferenceService in two namespaces: two models, each analysed on its own', async () => {
    // 3 inferences in team-x taking 10 ms, 5 in team-y taking 40 ms (the ce-time of the response
    // minus the request's: what event.duration stores, the service health job's latency).
    const t0 = Date.parse('2026-12-05T01:00:00Z');
    const plan = [
      { k8s: 'team-x', n: 3, ms: 10 },
      { k8s: 'team-y', n: 5, ms: 40 },
    ];
    const ids: string[] = [];
    for (const { k8s, n, ms } of plan)
      for (let i = 0; i < n; i++) {
        const id = `twin-${k8s}-${i}`;
        ids.push(id);
        const at = t0 + i * 1000;
        const extra = { 'ce-inferenceservicename': 'twin', 'ce-namespace': k8s };
        // V2 answer: model_name is the same in both namespaces too; model_version gives the
        // service health job its version.
        const answer = {
          model_name: 'twin',
          model_version: '1',
          outputs: [{ name: 'y', shape: [1], datatype: 'FP64', data: [1] }],
        };
        // Both halves at once, as KServe's agent posts them: one after the other, a loaded machine
        // could put more than the file's 1.5 s wait between them, and the sweep would then store
        // the request alone (without the version and duration asserted below).
        const [request, response] = await Promise.all([
          post('/v1/events', JSON.stringify({ instances: [[i, 1]] }), {
            ...kserve('request', id, extra),
            'ce-time': new Date(at).toISOString(),
          }),
          post('/v1/events', JSON.stringify(answer), {
            ...kserve('response', id, extra),
            'ce-time': new Date(at + ms).toISOString(),
          }),
        ]);
        expect([request.status, response.status]).toEqual([200, 200]);
      }
    const found = await docs(ids);
    expect([...found.values()].map((d) => d.model.name).sort()).toEqual([
      ...Array<string>(3).fill('team-x/twin'),
      ...Array<string>(5).fill('team-y/twin'),
    ]);
    const window = { start: new Date(t0 - 60_000), end: new Date(t0 + 60_000) };
    for (const { k8s, n, ms } of plan) {
      const { health } = await runServiceHealthJob(client, {
        namespace: ns,
        model: `${k8s}/twin`,
        window,
        refresh: true,
      });
      expect(health.map((h) => [h.version, h.count])).toEqual([['1', n]]);
      expect(health[0]?.latencyMs.p50).toBeCloseTo(ms, 1);
    }
  }, 60_000);
});

describe('logger mode: request', () => {
  it('stores each request as a prediction without output; /v1/predictions keeps answering 200', async () => {
    // maxPendingPairs is 10 in this file: on main, the 11th waiting half made every route 429.
    const ids = Array.from({ length: 30 }, (_, i) => `only-req-${i}`);
    const statuses: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < ids.length; i += 5) {
      const batch = ids.slice(i, i + 5);
      const answers = await Promise.all(
        batch.map((id) =>
          post(
            '/v1/events',
            JSON.stringify({ instances: [[i, 1, 2, 3]] }),
            kserve('request', id, { 'ce-inferenceservicename': 'req-only' }),
          ),
        ),
      );
      statuses.push(...answers.map((a) => a.status));
      const p = await post('/v1/predictions', JSON.stringify({ id: `plain-${i}`, features: { x: i } }), {
        'content-type': 'application/json',
      });
      plain.push(p.status);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(plain).toEqual([200, 200, 200, 200, 200, 200]);
    // After the 1.5 s wait the sweep stores each request alone.
    const found = await docs(ids);
    expect(found.size).toBe(30);
    for (const d of found.values()) {
      expect(d.prediction?.value).toBeUndefined();
      expect(d.model.name).toBe('team-a/req-only');
    }
    expect(found.get('only-req-5')?.features).toEqual({ f0: 5, f1: 1, f2: 2, f3: 3 });
    const ready = await fetch(`${collector.url}/readyz`);
    expect(ready.status).toBe(200);
  }, 90_000);
});

describe('hostile input and limits', () => {
  it('deep JSON is a 400 everywhere and loses nothing acknowledged before it', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const first = await post(
      '/v1/events',
      JSON.stringify({ instances: [[1, 2, 3, 4]] }),
      kserve('request', 'deep-1'),
    );
    expect(first.body.status).toBe('pending');
    const bad = await post('/v1/events', `{"predictions": ${deep}}`, kserve('response', 'deep-1'));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('the JSON nests deeper than 64 levels');
    const v1 = await post('/v1/events', `{"instances": ${deep}}`, kserve('request', 'deep-2'));
    expect(v1.status).toBe(400);
    const mine = await post('/v1/predictions', `{"features": {"x": ${deep}}}`, {
      'content-type': 'application/json',
    });
    expect(mine.status).toBe(400);
    const good = await post('/v1/events', JSON.stringify({ predictions: [1] }), kserve('response', 'deep-1'));
    expect(good.body.status).toBe('paired');
    expect((await docs(['deep-1'])).get('deep-1')?.prediction.value).toBe(1);
  }, 60_000);

  it('decodes gzip and deflate bodies, and data_base64 in structured mode', async () => {
    const gz = await post('/v1/predictions', gzipSync(JSON.stringify({ id: 'gz-1', features: { x: 1 } })), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(gz.status).toBe(200);
    const unknown = await post('/v1/predictions', 'x', {
      'content-type': 'application/json',
      'content-encoding': 'zstd',
    });
    expect(unknown.status).toBe(415);
    const envelope = (role: 'request' | 'response', data: unknown) =>
      JSON.stringify({
        specversion: '1.0',
        id: 'b64-1',
        type: `org.kubeflow.serving.inference.${role}`,
        source: 'http://localhost:9081/',
        inferenceservicename: 'b64',
        data_base64: Buffer.from(JSON.stringify(data)).toString('base64'),
      });
    const h = { 'content-type': 'application/cloudevents+json' };
    expect((await post('/v1/events', envelope('request', { instances: [[1, 2]] }), h)).body.status).toBe(
      'pending',
    );
    expect((await post('/v1/events', envelope('response', { predictions: [0] }), h)).body.status).toBe(
      'paired',
    );
    const found = await docs(['gz-1', 'b64-1']);
    expect(found.get('b64-1')?.features).toEqual({ f0: 1, f1: 2 });
  }, 60_000);

  it('ids: too long, repeated → 400; raw UTF-8 and percent-encoded → decoded and stored under that id', async () => {
    const long = await post(
      '/v1/events',
      JSON.stringify({ instances: [[1]] }),
      kserve('request', 'x'.repeat(600)),
    );
    expect(long.status).toBe(400);
    expect(long.body.code).toBe('attribute_too_long');
    const headers = Object.entries(kserve('request', 'dup-a')).flat();
    const repeated = await rawPost([...headers, 'ce-id', 'dup-b'], JSON.stringify({ instances: [[1]] }));
    expect(repeated.status).toBe(400);
    expect(repeated.body, JSON.stringify(repeated.body)).toMatchObject({ code: 'repeated_header' });
    // "café-1" as raw UTF-8 bytes (Node reads header bytes as latin1) and percent-encoded.
    const utf8 = Buffer.from('café-1', 'utf8').toString('latin1');
    const raw = Object.entries(kserve('request', utf8)).flat();
    const rawAnswer = await rawPost(raw, JSON.stringify({ instances: [[1]] }));
    expect(rawAnswer.body.status, JSON.stringify(rawAnswer)).toBe('pending');
    const paired = await post(
      '/v1/events',
      JSON.stringify({ predictions: [1] }),
      kserve('response', 'caf%C3%A9-1'),
    );
    expect(paired.body.status).toBe('paired');
    expect((await docs(['café-1'])).has('café-1')).toBe(true);
  }, 60_000);

  it('counts dead-lettered and waiting halves in /metrics', async () => {
    await post('/v1/events', JSON.stringify({ predictions: [1] }), kserve('response', 'metrics-alone'));
    let text = '';
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(300)) {
      text = await (await fetch(`${collector.url}/metrics`)).text();
      if (/mlmon_collect_events_dead_lettered_total\{kind="unpaired_half"\} [1-9]/.test(text)) break;
    }
    expect(text).toMatch(/mlmon_collect_events_dead_lettered_total\{kind="unpaired_half"\} [1-9]/);
    expect(text).toMatch(/mlmon_collect_pending_halves \d+/);
  }, 60_000);
});

describe('/readyz asks Elasticsearch', () => {
  it('says unreachable (not up) when nothing answers, and names a refused credential', async () => {
    const nowhere = await startCollector({
      port: 0,
      logger: {
        node: 'http://127.0.0.1:9',
        model: { name: 'x' },
        spool: { dir: tempSpoolDir('readyz') },
        ...quiet,
      },
    });
    // A server that refuses every credential as Elasticsearch does (401 + WWW-Authenticate).
    const refusing: Server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'ApiKey' });
      res.end(
        JSON.stringify({
          error: { type: 'security_exception', reason: 'unable to authenticate' },
          status: 401,
        }),
      );
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const port = (refusing.address() as { port: number }).port;
    const refused = await startCollector({
      port: 0,
      logger: {
        node: `http://127.0.0.1:${port}`,
        apiKey: 'bm90LWEta2V5',
        model: { name: 'x' },
        spool: { dir: tempSpoolDir('readyz2') },
        ensureTemplates: false,
        ...quiet,
      },
    });
    try {
      const a = (await (await fetch(`${nowhere.url}/readyz`)).json()) as Doc;
      expect(a.elasticsearch).toBe('unreachable');
      expect(a.ready).toBe(true); // the spool takes what comes meanwhile
      const r = await fetch(`${refused.url}/readyz`);
      const b = (await r.json()) as Doc;
      expect(r.status).toBe(503);
      expect(b.elasticsearch).toBe('credentials_refused');
      expect(b.reason).toBe('Elasticsearch refused the API key (elasticsearch.apiKey / ES_API_KEY) (401)');
    } finally {
      await nowhere.close();
      await refused.close();
      refusing.close();
    }
  }, 60_000);
});
