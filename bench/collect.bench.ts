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
 */
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { startCollector } from '../src/collector/server.js';
import { installTemplates } from '../src/elastic/templates.js';
import { serverVersion } from '../src/elastic/local-cluster.js';
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
  const docs = events.map((e) => {
    const built = buildPredictionDocument(e, e.id as string, Date.now(), context);
    if (!built.ok) throw new Error(built.reason);
    built.doc.data_stream = stream;
    return built.doc;
  });
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
    datasource: docs,
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
  const bodies: string[] = [];
  for (let i = 0; i < N; i += BATCH)
    bodies.push(
      events
        .slice(i, i + BATCH)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let next = 0;
  let stored = 0;
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve((JSON.parse(text) as { indexed: number }).indexed)
              : reject(new Error(`${res.statusCode} ${text}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
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
  if (k.spooled > 0)
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (f: Figures) =>
  `${Math.round(f.perSecond).toLocaleString('en')}/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, peak RSS ${Math.round(f.rssMb)} MB`;

async function main(): Promise<void> {
  await installTemplates(client);
  console.log(
    `Elasticsearch ${await serverVersion(ES_URL)} at ${ES_URL}; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(
    `N=${N} predictions (20 features), collector: batches of ${BATCH} (NDJSON), ${CONNECTIONS} connections, logger concurrency ${LOGGER_CONCURRENCY ?? 4}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const bulk: Figures[] = [];
  const coll: Figures[] = [];
  const stamp = Date.now().toString(36);
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
  await client.close();
}

await main();
