/**
 * Collector benchmark: `npm run bench:collect` (ES_URL, default http://127.0.0.1:9250).
 *
 * Sustained predictions/s into Elasticsearch and request latency (p50, p99) of `mlmon collect`
 * (in this process, over loopback HTTP, keep-alive, BENCH_CONNECTIONS concurrent clients posting
 * NDJSON batches of BENCH_BATCH predictions and waiting for each 2xx, which comes once the batch is
 * durable) against `client.helpers.bulk` sending the same prediction documents (built by the same
 * builder, `create` with `_id` = prediction id) in the same run; rounds interleave the two, each
 * into a fresh namespace. Latency of helpers.bulk is that of its bulk requests (diagnostic events).
 *
 * Why a bounded node:http loop rather than autocannon: every request must carry new prediction
 * ids (a repeated body would be 409s, not ingest), and the loop stops after exactly N predictions.
 * BENCH_QUICK=1 for a smoke run.
 *
 * Then KServe pairs (issue 24): BENCH_PAIRS inferences of one row each, their request and response
 * halves posted to two collectors (two replicas sharing the namespace, each with its own spool, each
 * a child process as a pod is: BENCH_REPLICAS), always split (request to one, response to the other, the replica chosen at random), 16 clients;
 * against 16 concurrent `client.create` of the same number of predictions. And memory: a collector
 * child process (collector.memoryBudget BENCH_BUDGET_MB) under 200 concurrent 0.75 MB halves, peak
 * RSS read from its own /metrics (process_resident_memory_bytes).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { startCollector } from '../src/collector/server.js';
import { installTemplates, TemplateDowngradeError } from '../src/elastic/templates.js';
import { serverVersion } from '../tools/elasticsearch/local-cluster.js';
import { buildPredictionDocument, defaultContext } from '../src/schema/prediction.js';
import { dataStreamFields, logStream } from '../src/schema/streams.js';

const ES_URL = process.env.ES_URL ?? 'http://127.0.0.1:9250';
const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_N ?? (QUICK ? 20_000 : 200_000));
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
/** The collector's logger `concurrency` (bulk requests in flight; default the logger's 4). */
const LOGGER_CONCURRENCY = process.env.BENCH_LOGGER_CONCURRENCY
  ? Number(process.env.BENCH_LOGGER_CONCURRENCY)
  : undefined;
const client = new Client({ node: ES_URL, requestTimeout: 120_000 });
/**
 * BENCH_BUILD=inside (default): both sides start from the same event objects inside the clock:
 * helpers.bulk's datasource builds each document (mlmon's builder) as it goes, and each collector
 * client serializes its batch before posting it (the collector builds the documents). `before`:
 * the documents and the NDJSON bodies are built before the clock starts, so the collector's time
 * includes building documents and helpers.bulk's does not (the figures before 2026-12-05 22:30).
 */
const BUILD = process.env.BENCH_BUILD === 'before' ? 'before' : 'inside';
/** BENCH_ONLY=ndjson|pairs|memory (comma-separated): run only those parts; default all. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'ndjson,pairs,memory').split(','));

function makeEvents(n: number, prefix: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const features: Record<string, unknown> = {};
    for (let k = 0; k < 20; k++)
      features[`feature_${k}`] =
        k % 4 === 0 ? `cat_${(i * 7 + k) % 13}` : Math.round(Math.random() * 1e6) / 1e3;
    out.push({
      id: `${prefix}-${i}`,
      timestamp: Date.now(),
      model: { name: 'bench' },
      features,
      prediction: { label: String(i % 2), score: Math.round(Math.random() * 1000) / 1000 },
      latencyMs: 1 + (i % 7),
    });
  }
  return out;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
  rssMb: number;
}

async function viaBulk(ns: string): Promise<Figures> {
  const index = logStream('prediction', ns);
  const stream = dataStreamFields(index);
  const context = defaultContext({ name: 'bench' });
  const events = makeEvents(N, `b-${ns}`);
  const build = (e: Record<string, unknown>) => {
    const built = buildPredictionDocument(e, e.id as string, Date.now(), context);
    if (!built.ok) throw new Error(built.reason);
    built.doc.data_stream = stream;
    return built.doc;
  };
  const docs = BUILD === 'before' ? events.map(build) : undefined;
  const bulkClient = new Client({ node: ES_URL, requestTimeout: 120_000 });
  const started = new Map<unknown, number>();
  const latencies: number[] = [];
  bulkClient.diagnostic.on('request', (_e, r) => started.set(r?.meta.request.id, performance.now()));
  bulkClient.diagnostic.on('response', (_e, r) => {
    const t = started.get(r?.meta.request.id);
    if (t !== undefined) latencies.push(performance.now() - t);
  });
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  const result = await bulkClient.helpers.bulk({
    datasource:
      docs ??
      (async function* () {
        for (const e of events) yield build(e);
      })(),
    onDocument: (doc) => ({ create: { _index: index, _id: (doc.prediction as { id: string }).id } }),
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await bulkClient.close();
  if (result.successful !== N) throw new Error(`helpers.bulk stored ${result.successful} of ${N}`);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: N / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rssMb: rss / 2 ** 20,
  };
}

async function viaCollector(ns: string): Promise<Figures> {
  const spool = mkdtempSync(join(tmpdir(), 'mlmon-bench-collect-'));
  const collector = await startCollector({
    port: 0,
    logger: {
      node: ES_URL,
      namespace: ns,
      model: { name: 'bench' },
      spool: { dir: spool },
      ...(LOGGER_CONCURRENCY ? { concurrency: LOGGER_CONCURRENCY } : {}),
      onWarning: () => {},
    },
  });
  const url = new URL(`${collector.url}/v1/predictions`);
  const events = makeEvents(N, `c-${ns}`);
  const serialize = (from: number) =>
    events
      .slice(from, from + BATCH)
      .map((e) => JSON.stringify(e))
      .join('\n');
  const batches = Math.ceil(N / BATCH);
  const bodies: string[] = [];
  if (BUILD === 'before') for (let b = 0; b < batches; b++) bodies.push(serialize(b * BATCH));
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let next = 0;
  let stored = 0;
  const post = async (body: string) => {
    const r = await postTo(agent, url, body, { 'content-type': 'application/x-ndjson' });
    if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
    return (JSON.parse(r.text) as { indexed: number }).indexed;
  };
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < batches) {
        const b = next++;
        const body = bodies[b] ?? serialize(b * BATCH);
        const s = performance.now();
        await post(body);
        stored += BATCH;
        latencies.push(performance.now() - s);
      }
    }),
  );
  // Spooled ones (a slow or busy cluster) count once they are in Elasticsearch too.
  const flushed = await collector.core.flush(300_000);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  agent.destroy();
  const k = collector.core.counters;
  if (k.spooled > 0 || k.retried > 0)
    console.log(`  (collector spooled ${k.spooled}, retried ${k.retried}; flushed: ${flushed})`);
  await collector.close();
  rmSync(spool, { recursive: true, force: true });
  if (k.indexed !== N) throw new Error(`collector indexed ${k.indexed} of ${N} (${stored} acknowledged)`);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: N / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rssMb: rss / 2 ** 20,
  };
}

const PAIRS = Number(process.env.BENCH_PAIRS ?? (QUICK ? 2_000 : 10_000));
/**
 * BENCH_REPLICAS=process (default): the two replicas are `mlmon collect` child processes, as two
 * pods are, so the bench process holds only the clients (KServe's agents); `inline`: both in the
 * bench process, beside the clients (one thread for all three: the figures before 2026-12-05 22:00).
 */
const REPLICAS = process.env.BENCH_REPLICAS === 'inline' ? 'inline' : 'process';

/** One POST over a keep-alive agent; resolves with the status and body. */
function postTo(agent: Agent, url: URL, body: string, headers: Record<string, string>) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const kserveHeaders = (role: 'request' | 'response', id: string) => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-type': `org.kubeflow.serving.inference.${role}`,
  'ce-source': 'http://bench/',
  'ce-inferenceservicename': 'bench',
  'ce-namespace': 'bench',
  'ce-component': 'predictor',
});

/** Predictions/s of KServe pairs over two replicas, halves always split between them. */
async function pairsViaReplicas(ns: string): Promise<Figures> {
  const replicas = await Promise.all(
    [0, 1].map(async () => {
      if (REPLICAS === 'process') return collectorProcess(ns, {});
      const dir = mkdtempSync(join(tmpdir(), 'mlmon-bench-pairs-'));
      const collector = await startCollector({
        port: 0,
        logger: {
          node: ES_URL,
          namespace: ns,
          model: { name: 'bench' },
          spool: { dir },
          onWarning: () => {},
        },
      });
      return {
        url: collector.url,
        stop: async () => {
          await collector.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }),
  );
  const urls = replicas.map((r) => new URL(`${r.url}/v1/events`));
  const agent = new Agent({ keepAlive: true, maxSockets: 2 * CONNECTIONS });
  const events = makeEvents(PAIRS, `p-${ns}`);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < events.length) {
        const e = events[next++] as { id: string; features: Record<string, number> };
        const first = Math.random() < 0.5 ? 0 : 1;
        const s = performance.now();
        // KServe's agent posts both halves on its own, concurrently.
        const [a, b] = await Promise.all([
          postTo(
            agent,
            urls[first] as URL,
            JSON.stringify({ instances: [Object.values(e.features)] }),
            kserveHeaders('request', e.id),
          ),
          postTo(
            agent,
            urls[1 - first] as URL,
            JSON.stringify({ predictions: [0.5] }),
            kserveHeaders('response', e.id),
          ),
        ]);
        if (a.status !== 200 || b.status !== 200)
          throw new Error(`${a.status} ${a.text} / ${b.status} ${b.text}`);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const answered = (performance.now() - t0) / 1000;
  // Pairs whose halves crossed (each replica wrote its half before the other's was there) are
  // stored by the sweep: count the time until every prediction is in Elasticsearch.
  const index = logStream('prediction', ns);
  for (;;) {
    await client.indices.refresh({ index });
    const { count } = await client.count({ index });
    if (count >= PAIRS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `  (every half answered after ${answered.toFixed(1)} s, every prediction stored after ${seconds.toFixed(1)} s)`,
  );
  agent.destroy();
  await Promise.all(replicas.map((r) => r.stop()));
  latencies.sort((x, y) => x - y);
  return {
    perSecond: PAIRS / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rssMb: 0,
  };
}

/** The baseline: 16 concurrent `client.create`, one prediction document each. */
async function createPerPrediction(ns: string): Promise<Figures> {
  const index = logStream('prediction', ns);
  const stream = dataStreamFields(index);
  const context = defaultContext({ name: 'bench' });
  const docs = makeEvents(PAIRS, `k-${ns}`).map((e) => {
    const built = buildPredictionDocument(e, e.id as string, Date.now(), context);
    if (!built.ok) throw new Error(built.reason);
    built.doc.data_stream = stream;
    return { id: e.id as string, doc: built.doc };
  });
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < docs.length) {
        const d = docs[next++] as { id: string; doc: Record<string, unknown> };
        const s = performance.now();
        await client.create({ index, id: d.id, document: d.doc });
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((x, y) => x - y);
  return {
    perSecond: PAIRS / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rssMb: 0,
  };
}

const BUDGET_MB = Number(process.env.BENCH_BUDGET_MB ?? 256);

/**
 * Peak RSS of a collector child process (collector.memoryBudget BENCH_BUDGET_MB) while 200
 * clients post a 0.75 MB KServe half each at once (V2 tensor [1500, 50]; request and response
 * on the same replica). Returns the peak, the answers by status, and the RSS before.
 */
/**
 * `mlmon collect` in a child process of its own (as a pod runs it), with `collector` settings and
 * its own spool; resolves once it listens.
 */
async function collectorProcess(
  ns: string,
  collector: Record<string, unknown>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mlmon-bench-collect-'));
  const config = join(dir, 'mlmon.config.json');
  writeFileSync(
    config,
    JSON.stringify({ namespace: ns, collector: { port: 0, spoolDir: join(dir, 'spool'), ...collector } }),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'collect', '--config', config],
    {
      env: { ...process.env, ES_URL },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  let url = '';
  for (let i = 0; i < 600 && !url; i++) {
    url = /listening on (http:\/\/\S+) /.exec(out)?.[1] ?? '';
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) throw new Error(`mlmon collect did not start: ${out}`);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function memoryUnderLargeHalves(ns: string) {
  const collector = await collectorProcess(ns, { memoryBudget: BUDGET_MB * 2 ** 20 });
  const base = collector.url;
  const rssOf = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(/mlmon_collect_process_resident_memory_bytes (\d+)/.exec(text)?.[1] ?? 0) / 2 ** 20;
  };
  const before = await rssOf();
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssOf().catch(() => 0));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const rows = 1500;
  const data = Array.from({ length: rows * 50 }, (_, i) => Math.round(Math.sin(i) * 1e6) / 1e6);
  const url = new URL(`${base}/v1/events`);
  const agent = new Agent({ keepAlive: true, maxSockets: 200 });
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const role = i % 2 === 0 ? 'request' : 'response';
      const body =
        role === 'request'
          ? JSON.stringify({ inputs: [{ name: 'x', shape: [rows, 50], datatype: 'FP64', data }] })
          : JSON.stringify({
              outputs: [{ name: 'y', shape: [rows], datatype: 'FP64', data: data.slice(0, rows) }],
            });
      const r = await postTo(agent, url, body, kserveHeaders(role, `mem-${Math.floor(i / 2)}`)).catch(() => ({
        status: 0,
        text: '',
      }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }),
  );
  sampling = false;
  await sampler;
  agent.destroy();
  await collector.stop();
  const size = JSON.stringify({ inputs: [{ name: 'x', shape: [rows, 50], datatype: 'FP64', data }] }).length;
  return { before, peak, statuses: Object.fromEntries(statuses), halfMb: size / 2 ** 20 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (f: Figures) =>
  `${Math.round(f.perSecond).toLocaleString('en')}/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, peak RSS ${Math.round(f.rssMb)} MB`;

async function main(): Promise<void> {
  // A cluster shared with a newer checkout may hold newer templates: those serve as well.
  await installTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
  console.log(
    `Elasticsearch ${await serverVersion(ES_URL)} at ${ES_URL}; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(
    `N=${N} predictions (20 features), collector: batches of ${BATCH} (NDJSON), ${CONNECTIONS} connections, logger concurrency ${LOGGER_CONCURRENCY ?? 4}, documents built ${BUILD} the clock; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const stamp = Date.now().toString(36);
  if (ONLY.has('ndjson')) await ndjsonRounds(stamp);
  if (ONLY.has('pairs')) await pairRounds(stamp);
  if (ONLY.has('memory')) {
    const mem = await memoryUnderLargeHalves(`benchmem${stamp}`);
    console.log(
      `200 concurrent ${mem.halfMb.toFixed(2)} MB halves, budget ${BUDGET_MB} MiB: RSS ${Math.round(mem.before)} MiB idle, peak ${Math.round(mem.peak)} MiB (${Math.round(mem.peak - mem.before)} above idle; budget + 100 = ${BUDGET_MB + 100} MiB); answers ${JSON.stringify(mem.statuses)} (load ${loadavg()[0]?.toFixed(2)})`,
    );
  }
  await client.close();
}

/** NDJSON batches to the collector against helpers.bulk, rounds interleaved. */
async function ndjsonRounds(stamp: string): Promise<void> {
  const bulk: Figures[] = [];
  const coll: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const b = await viaBulk(`benchbulk${stamp}${r}`);
    bulk.push(b);
    console.log(`round ${r + 1} helpers.bulk: ${fmt(b)} (load ${loadavg()[0]?.toFixed(2)})`);
    const c = await viaCollector(`benchcoll${stamp}${r}`);
    coll.push(c);
    console.log(`round ${r + 1} collector:    ${fmt(c)} (load ${loadavg()[0]?.toFixed(2)})`);
  }
  const ratio = median(coll.map((f) => f.perSecond)) / median(bulk.map((f) => f.perSecond));
  console.log(
    `median collector/helpers.bulk throughput: ${ratio.toFixed(2)}x; collector p99 ${median(coll.map((f) => f.p99)).toFixed(1)} ms vs bulk request p99 ${median(bulk.map((f) => f.p99)).toFixed(1)} ms`,
  );
}

/** KServe pairs over two replicas against 16-way client.create, rounds interleaved. */
async function pairRounds(stamp: string): Promise<void> {
  const creates: Figures[] = [];
  const pairs: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const k = await createPerPrediction(`benchcreate${stamp}${r}`);
    creates.push(k);
    console.log(`round ${r + 1} 16-way client.create: ${fmt(k)} (load ${loadavg()[0]?.toFixed(2)})`);
    const p = await pairsViaReplicas(`benchpairs${stamp}${r}`);
    pairs.push(p);
    console.log(`round ${r + 1} KServe pairs, 2 replicas: ${fmt(p)} (load ${loadavg()[0]?.toFixed(2)})`);
  }
  const pairRatio = median(pairs.map((f) => f.perSecond)) / median(creates.map((f) => f.perSecond));
  console.log(
    `median KServe pairs over 2 replicas / 16-way client.create, predictions/s: ${pairRatio.toFixed(2)}x; pair p99 ${median(pairs.map((f) => f.p99)).toFixed(1)} ms (both halves answered) vs create p99 ${median(creates.map((f) => f.p99)).toFixed(1)} ms`,
  );
}

await main();
