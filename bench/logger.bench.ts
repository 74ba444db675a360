/**
 * Logger benchmark: `npm run bench:logger` (ES_URL, default http://127.0.0.1:9250).
 *
 * (a) caller-side cost of logPrediction for a 20-feature event, median and p99, against a bare
 *     winston logger with a no-op transport on the same events;
 * (b) sustained ingest rate into Elasticsearch against client.helpers.bulk sending the same documents;
 * (c) peak RSS during a 60 s outage at 2,000 predictions/s with the default buffer settings;
 * (d) process CPU to ship 100,000 20-feature predictions into Elasticsearch: mlmon's logger against
 *     pino + pino-elasticsearch, winston + winston-elasticsearch (through mlmon's bridge) and
 *     client.helpers.bulk, in interleaved rounds (BENCH_CPU_N, BENCH_ROUNDS).
 *
 * BENCH_QUICK=1 shortens (b), (c) and (d) for a smoke run; BENCH_SIDES=mlmon,pino-es limits (d); BENCH_ONLY=a|b|c|d runs some parts;
 * BENCH_ROUNDS, BENCH_CONCURRENCY and BENCH_BATCH_BYTES tune (b) and (d). Results go to
 * bench/RESULTS.md by hand.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { pino } from 'pino';
import pinoElasticModule from 'pino-elasticsearch';
import winston from 'winston';
import { ElasticsearchTransport } from 'winston-elasticsearch';
import TransportStream from 'winston-transport';
import { mlmonTransportOptions } from '../src/bridge/winston-elasticsearch.js';
import { installTemplates } from '../src/elastic/templates.js';
import { serverVersion } from '../tools/elasticsearch/local-cluster.js';
import { createPredictionLogger, SHIPPER_DEFAULTS, type PredictionEvent } from '../src/logger/index.js';
import { uuidv7 } from '../src/schema/id.js';
import { buildPredictionDocument, defaultContext } from '../src/schema/prediction.js';
import { dataStreamFields, logStream } from '../src/schema/streams.js';

// A CommonJS module whose types say `export default`: at run time the default import is the function.
const pinoElastic = pinoElasticModule as unknown as typeof pinoElasticModule.default;

const ES_URL = process.env.ES_URL ?? 'http://127.0.0.1:9250';
const QUICK = process.env.BENCH_QUICK === '1';
const client = new Client({ node: ES_URL, requestTimeout: 120_000 });

class NoopTransport extends TransportStream {
  override log(_info: unknown, next: () => void): void {
    next();
  }
}

/** 20-feature events, parsed from JSON like a request body would be. */
function makeEvents(n: number): PredictionEvent[] {
  const out: PredictionEvent[] = [];
  for (let i = 0; i < n; i++) {
    const features: Record<string, unknown> = {};
    for (let k = 0; k < 20; k++)
      features[`feature_${k}`] =
        k % 4 === 0 ? `cat_${(i * 7 + k) % 13}` : Math.round(Math.random() * 1e6) / 1e3;
    out.push(
      JSON.parse(
        JSON.stringify({
          features,
          prediction: { label: String(i % 2), score: Math.round(Math.random() * 1000) / 1000 },
          latencyMs: 1 + (i % 7),
          labels: { region: i % 2 ? 'eu' : 'us' },
        }),
      ) as PredictionEvent,
    );
  }
  return out;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Per-call nanoseconds of `fn` over `events`, yielding to the event loop every 100 calls. */
async function perCall(events: PredictionEvent[], rounds: number, fn: (e: PredictionEvent) => void) {
  const n = events.length * rounds;
  const times = new Float64Array(n);
  let j = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as PredictionEvent;
      const start = process.hrtime.bigint();
      fn(e);
      times[j++] = Number(process.hrtime.bigint() - start);
      if (i % 100 === 99) await yieldLoop();
    }
  }
  const wall = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  times.sort();
  return {
    median: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    mean: times.reduce((a, b) => a + b, 0) / n,
    cpuPerEventNs: ((cpu.user + cpu.system) * 1000) / n,
    wallMs: wall / 1e6,
  };
}

async function benchCallerCost(): Promise<void> {
  console.log('\n## (a) caller-side cost, 20-feature event');
  const events = makeEvents(10_000);
  const noop = winston.createLogger({ transports: [new NoopTransport()] });
  const spoolDir = mkdtempSync(join(tmpdir(), 'mlmon-bench-a-'));
  const ns = `bencha${Date.now().toString(36)}`;
  const logger = createPredictionLogger({
    node: ES_URL,
    namespace: ns,
    model: { name: 'bench' },
    spool: { dir: spoolDir },
  });
  // Warm-up both, then alternate three measured rounds each.
  await perCall(events, 2, (e) => noop.info('prediction', e));
  await perCall(events, 2, (e) => logger.logPrediction(e));
  const results: Record<string, Array<Awaited<ReturnType<typeof perCall>>>> = { winston: [], mlmon: [] };
  for (let r = 0; r < 3; r++) {
    results.winston!.push(await perCall(events, 5, (e) => noop.info('prediction', e)));
    results.mlmon!.push(await perCall(events, 5, (e) => logger.logPrediction(e)));
  }
  await logger.flush(120_000);
  await logger.close();
  const pick = (k: string, f: keyof Awaited<ReturnType<typeof perCall>>) =>
    [...results[k]!.map((x) => x[f])].sort((a, b) => a - b)[1] as number;
  const rows = ['median', 'p99', 'mean', 'cpuPerEventNs'] as const;
  console.log(
    '| per call (ns), median of 3 rounds of 50,000 calls | winston + no-op transport | mlmon logPrediction | ratio mlmon / winston |',
  );
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rows) {
    const w = pick('winston', row);
    const m = pick('mlmon', row);
    console.log(`| ${row} | ${w.toFixed(0)} | ${m.toFixed(0)} | ${(m / w).toFixed(2)}x |`);
  }
  rmSync(spoolDir, { recursive: true, force: true });
  await client.indices.deleteDataStream({ name: `*-mlmon.*-${ns}` }).catch(() => {});
}

interface IngestRun {
  ms: number;
  indexed: number;
}

/** One timed logger run: from the first logPrediction to flush() resolving (normalisation included). */
async function ingestMlmon(
  events: PredictionEvent[],
  ns: string,
  capture?: Array<{ id: string; doc: string }>,
): Promise<IngestRun> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'mlmon-bench-b-'));
  const logger = createPredictionLogger({
    node: ES_URL,
    namespace: ns,
    model: { name: 'bench' },
    spool: { dir: spoolDir },
    ...(process.env.BENCH_CONCURRENCY ? { concurrency: Number(process.env.BENCH_CONCURRENCY) } : {}),
    ...(process.env.BENCH_BATCH_BYTES ? { batchMaxBytes: Number(process.env.BENCH_BATCH_BYTES) } : {}),
  });
  // Capture the documents the logger builds, to give helpers.bulk exactly the same ones.
  const shipper = logger.transport.core.shipper;
  const original = shipper.enqueue.bind(shipper);
  let capturing = false;
  if (capture)
    shipper.enqueue = (index, id, doc, kind, counted) => {
      if (capturing) capture.push({ id, doc });
      original(index, id, doc, kind, counted);
    };
  // Warm-up: creates the data stream and warms the connections, untimed.
  for (let i = 0; i < 2000; i++) logger.logPrediction(events[i] as PredictionEvent);
  await logger.flush(120_000);
  capturing = true;
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    logger.logPrediction(events[i] as PredictionEvent);
    if (i % 500 === 499) await yieldLoop();
  }
  const ok = await logger.flush(600_000);
  const ms = performance.now() - t0;
  capturing = false;
  const counters = await logger.close();
  if (!ok) throw new Error('flush did not drain');
  rmSync(spoolDir, { recursive: true, force: true });
  return { ms, indexed: counters.indexed - 2000 };
}

/** The same documents through client.helpers.bulk (its defaults: 5 MB flushes, concurrency 5). */
async function ingestHelper(
  parsed: Array<{ id: string; doc: Record<string, unknown> }>,
  ns: string,
): Promise<IngestRun> {
  const index = logStream('prediction', ns);
  await client.helpers.bulk({
    datasource: parsed.slice(0, 2000).map((d) => ({ ...d, id: `warm-${d.id}` })),
    onDocument: (d) => [{ create: { _index: index, _id: d.id } }, d.doc],
  });
  const t0 = performance.now();
  const stats = await client.helpers.bulk({
    datasource: parsed,
    onDocument: (d) => [{ create: { _index: index, _id: d.id } }, d.doc],
  });
  const ms = performance.now() - t0;
  if (stats.failed > 0) throw new Error(`helpers.bulk: ${stats.failed} failed`);
  return { ms, indexed: stats.successful };
}

/**
 * Sustained ingest, in rounds that alternate which side goes first, each into fresh data streams.
 * The machine is shared and Elasticsearch runs on it: a single pair of runs moved by ±25 % with
 * whatever else ran, and whichever side ran second inherited the first side's merges. The ratio of
 * each adjacent pair, and their median, is what we report.
 */
async function benchIngest(): Promise<void> {
  const n = QUICK ? 40_000 : 200_000;
  const rounds = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
  const concurrency = process.env.BENCH_CONCURRENCY ?? `${SHIPPER_DEFAULTS.concurrency} (default)`;
  const batch = process.env.BENCH_BATCH_BYTES ?? `${SHIPPER_DEFAULTS.batchMaxBytes} (default)`;
  console.log(`\n## (b) sustained ingest, ${n.toLocaleString('en')} predictions, ${rounds} round(s)`);
  console.log(`mlmon: concurrency ${concurrency}, batchMaxBytes ${batch}`);
  const events = makeEvents(n);
  const base = `benchb${Date.now().toString(36)}`;
  const docs: Array<{ id: string; doc: string }> = [];
  let parsed: Array<{ id: string; doc: Record<string, unknown> }> = [];
  console.log('| round | order | load (1 min) | helpers.bulk docs/s | mlmon docs/s | ratio |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const load = loadavg()[0] as number;
    // The first round must run the logger first: its documents are what helpers.bulk sends.
    const mlmonFirst = r % 2 === 0;
    let mine: IngestRun;
    let theirs: IngestRun;
    if (mlmonFirst) {
      mine = await ingestMlmon(events, `${base}m${r}`, r === 0 ? docs : undefined);
      if (r === 0)
        parsed = docs.map((d) => ({ id: d.id, doc: JSON.parse(d.doc) as Record<string, unknown> }));
      theirs = await ingestHelper(parsed, `${base}h${r}`);
    } else {
      theirs = await ingestHelper(parsed, `${base}h${r}`);
      mine = await ingestMlmon(events, `${base}m${r}`);
    }
    if (mine.indexed !== n || theirs.indexed !== n)
      throw new Error(`indexed ${mine.indexed} (mlmon) and ${theirs.indexed} (helpers.bulk) of ${n}`);
    const mineRate = (n / mine.ms) * 1000;
    const theirRate = (n / theirs.ms) * 1000;
    ratios.push(mineRate / theirRate);
    console.log(
      `| ${r + 1} | ${mlmonFirst ? 'mlmon, helpers' : 'helpers, mlmon'} | ${load.toFixed(2)} | ` +
        `${theirRate.toFixed(0)} | ${mineRate.toFixed(0)} | ${(mineRate / theirRate).toFixed(2)}x |`,
    );
    await client.indices.deleteDataStream({ name: `*-mlmon.*-${base}*` }).catch(() => {});
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  console.log(
    `ratio mlmon / helpers.bulk: median ${median.toFixed(2)}x, ` +
      `range ${(sorted[0] as number).toFixed(2)}x–${(sorted[sorted.length - 1] as number).toFixed(2)}x`,
  );
}

async function benchOutageRss(): Promise<void> {
  const seconds = QUICK ? 10 : 60;
  const rate = 2000;
  console.log(`\n## (c) RSS during a ${seconds} s outage at ${rate} predictions/s, default buffer settings`);
  const events = makeEvents(2000);
  const spoolDir = mkdtempSync(join(tmpdir(), 'mlmon-bench-c-'));
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  // Nothing listens on port 1: the same "connection refused" as a stopped Elasticsearch.
  const logger = createPredictionLogger({
    node: 'http://127.0.0.1:1',
    namespace: 'benchc',
    model: { name: 'bench' },
    spool: { dir: spoolDir },
    onWarning: () => {},
  });
  let peak = baseline;
  let peakHeap = 0;
  let logged = 0;
  const started = performance.now();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 100);
  // 20 predictions every 10 ms, catching up if a timer fires late.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(seconds * rate, Math.floor((elapsed / 1000) * rate));
      while (logged < due) logger.logPrediction(events[logged++ % events.length] as PredictionEvent);
      if (elapsed >= seconds * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  clearInterval(sampler);
  const counters = await logger.close();
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(`logged ${logged}; counters ${JSON.stringify(counters)}`);
  console.log('| RSS before | peak RSS during outage | growth | peak heap used |');
  console.log('| ---: | ---: | ---: | ---: |');
  console.log(`| ${mb(baseline)} MiB | ${mb(peak)} MiB | ${mb(peak - baseline)} MiB | ${mb(peakHeap)} MiB |`);
  rmSync(spoolDir, { recursive: true, force: true });
}

/** Process CPU (user + system, every thread of the process: process.cpuUsage is getrusage(SELF)). */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

interface CpuRun {
  cpuMs: number;
  wallMs: number;
  indexed: number;
}

/** Creates the data stream with one document (untimed), so no side pays for its creation. */
async function createStream(index: string): Promise<void> {
  await client.index({ index, op_type: 'create', document: { '@timestamp': new Date().toISOString() } });
}

async function countOf(index: string): Promise<number> {
  await client.indices.refresh({ index });
  return (await client.count({ index })).count;
}

/** mlmon: raw events in (it normalises, ids, serialises, sends), from the first call to flush(). */
async function cpuMlmon(events: PredictionEvent[], ns: string): Promise<CpuRun> {
  const index = logStream('prediction', ns);
  await createStream(index);
  const spoolDir = mkdtempSync(join(tmpdir(), 'mlmon-bench-d-'));
  const logger = createPredictionLogger({
    node: ES_URL,
    namespace: ns,
    model: { name: 'bench' },
    spool: { dir: spoolDir },
  });
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    logger.logPrediction(events[i] as PredictionEvent);
    if (i % 500 === 499) await yieldLoop();
  }
  const ok = await logger.flush(600_000);
  const run = { cpuMs: cpuMs(cpu0), wallMs: performance.now() - t0, indexed: 0 };
  const counters = await logger.close();
  rmSync(spoolDir, { recursive: true, force: true });
  if (!ok) throw new Error('mlmon: flush did not drain');
  run.indexed = counters.indexed;
  return run;
}

/**
 * pino + pino-elasticsearch as its README sets it up, in-process (`pino(opts, stream)`): pino
 * serialises each entry, pino-elasticsearch parses the line back and hands it to helpers.bulk, which
 * serialises it again. It gets the documents mlmon builds (already normalised, with their
 * `@timestamp`), with pino's own fields (level, time, pid, hostname) turned off so that the stored
 * documents are the same. flushBytes 2 MiB (mlmon's batch size; its default of 1,000 bytes sends
 * a request every two documents). Done when helpers.bulk resolves (after `end()`), its `insert`.
 */
async function cpuPino(docs: Array<Record<string, unknown>>, ns: string): Promise<CpuRun> {
  const index = logStream('prediction', ns);
  await createStream(index);
  const stream = pinoElastic({
    node: ES_URL,
    index,
    opType: 'create',
    esVersion: 8,
    flushBytes: 2 * 1024 * 1024,
    flushInterval: 1000,
  });
  let dropped = 0;
  stream.on('insertError', () => dropped++);
  // pino always writes a level; `log.level` (ECS, as @elastic/ecs-pino-format names it) is the one
  // field its documents have beyond mlmon's (pino 10 renders `{,` when the formatter returns {}).
  const log = pino(
    { base: undefined, timestamp: false, formatters: { level: (label) => ({ 'log.level': label }) } },
    stream,
  );
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inserted = once(stream, 'insert') as Promise<[{ successful: number }]>;
  for (let i = 0; i < docs.length; i++) {
    log.info(docs[i]);
    if (i % 500 === 499) await yieldLoop();
  }
  stream.end();
  const [stats] = await inserted;
  const run = { cpuMs: cpuMs(cpu0), wallMs: performance.now() - t0, indexed: stats.successful };
  if (dropped > 0) throw new Error(`pino-elasticsearch dropped ${dropped}`);
  return run;
}

/**
 * winston + winston-elasticsearch 0.19 with mlmon's bridge (src/bridge/winston-elasticsearch.ts:
 * the same normaliser builds the documents from the same raw events), flushInterval 5 s as
 * docs/logger.md advises (it is also its bulk timeout). Done when every document is countable: its
 * flush() returns before a write under way ends, so we poll the count (that polling is in the
 * figure; one count request per 200 ms).
 */
async function cpuWinstonEs(events: PredictionEvent[], ns: string): Promise<CpuRun> {
  const index = logStream('prediction', ns);
  await createStream(index);
  const esClient = new Client({ node: ES_URL });
  const transport = new ElasticsearchTransport({
    ...mlmonTransportOptions({ client: esClient, namespace: ns, model: { name: 'bench' } }),
    flushInterval: 5000,
    ...({ internalLogger: () => {} } as object),
  });
  transport.on('error', () => {});
  const log = winston.createLogger({ transports: [transport] });
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    log.info('prediction', events[i]);
    if (i % 500 === 499) await yieldLoop();
  }
  let stored = 0;
  const deadline = Date.now() + 600_000;
  while (stored < events.length + 1 && Date.now() < deadline) {
    await transport.flush();
    stored = await countOf(index);
    if (stored < events.length + 1) await new Promise((r) => setTimeout(r, 200));
  }
  const run = { cpuMs: cpuMs(cpu0), wallMs: performance.now() - t0, indexed: stored - 1 };
  log.close();
  await esClient.close();
  return run;
}

/** helpers.bulk given the same (parsed) documents, op_type create with the same `_id`s, 2 MiB flushes. */
async function cpuHelper(docs: Array<Record<string, unknown>>, ns: string): Promise<CpuRun> {
  const index = logStream('prediction', ns);
  await createStream(index);
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stats = await client.helpers.bulk({
    datasource: docs,
    flushBytes: 2 * 1024 * 1024,
    onDocument: (d) => [{ create: { _index: index, _id: (d.prediction as { id: string }).id } }, d],
  });
  return { cpuMs: cpuMs(cpu0), wallMs: performance.now() - t0, indexed: stats.successful };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function benchCpu(): Promise<void> {
  const n = Number(process.env.BENCH_CPU_N ?? (QUICK ? 20_000 : 100_000));
  const rounds = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
  console.log(
    `\n## (d) process CPU to ship ${n.toLocaleString('en')} 20-feature predictions, ${rounds} round(s)`,
  );
  console.log(
    `global.gc ${global.gc ? 'exposed (run before each side)' : 'not exposed (run with --expose-gc)'}`,
  );
  const events = makeEvents(n);
  // The documents mlmon builds from these events, as objects: what pino and helpers.bulk are given.
  const context = defaultContext({ name: 'bench' });
  const base = `benchd${Date.now().toString(36)}`;
  const allSides = ['mlmon', 'pino-es', 'winston-es', 'helpers.bulk'] as const;
  // BENCH_SIDES=mlmon (comma-separated) runs only those, e.g. under `node --cpu-prof`.
  const wanted = process.env.BENCH_SIDES?.split(',');
  const sides = allSides.filter((s) => !wanted || wanted.includes(s));
  const results: Record<(typeof allSides)[number], CpuRun[]> = {
    mlmon: [],
    'pino-es': [],
    'winston-es': [],
    'helpers.bulk': [],
  };
  console.log(
    '| round | order | load (1 min) | ' + sides.map((s) => `${s} CPU ms (wall ms)`).join(' | ') + ' |',
  );
  console.log('| ---: | --- | ---: |' + sides.map(() => ' ---: |').join(''));
  for (let r = 0; r < rounds; r++) {
    const ns = `${base}r${r}`;
    const dataStream = dataStreamFields(logStream('prediction', `${ns}p`));
    const docs = events.map((e) => {
      const built = buildPredictionDocument(e, uuidv7(), Date.now(), context);
      if (!built.ok) throw new Error(built.reason);
      built.doc.data_stream = dataStream;
      return built.doc;
    });
    const helperStream = dataStreamFields(logStream('prediction', `${ns}h`));
    const helperDocs = docs.map((d) => ({ ...d, data_stream: helperStream }));
    const load = loadavg()[0] as number;
    // Rotate the order each round: whichever side runs after another inherits its merges and GC.
    const order = sides.map((_, k) => sides[(k + r) % sides.length] as (typeof allSides)[number]);
    for (const side of order) {
      let run: CpuRun;
      if (side === 'mlmon') run = await cpuMlmon(events, `${ns}m`);
      else if (side === 'pino-es') run = await cpuPino(docs, `${ns}p`);
      else if (side === 'winston-es') run = await cpuWinstonEs(events, `${ns}w`);
      else run = await cpuHelper(helperDocs, `${ns}h`);
      if (run.indexed !== n) throw new Error(`${side}: indexed ${run.indexed} of ${n}`);
      results[side].push(run);
    }
    console.log(
      `| ${r + 1} | ${order.join(', ')} | ${load.toFixed(2)} | ` +
        sides
          .map((s) => {
            const x = results[s][r] as CpuRun;
            return `${x.cpuMs.toFixed(0)} (${x.wallMs.toFixed(0)})`;
          })
          .join(' | ') +
        ' |',
    );
    await client.indices.deleteDataStream({ name: `*-mlmon.*-${ns}*` }).catch(() => {});
  }
  const mine = median(results.mlmon.map((x) => x.cpuMs));
  console.log(`\nmedian process CPU, ms (µs per event), and mlmon ÷ each (median of the per-round ratios):`);
  for (const s of sides) {
    const m = median(results[s].map((x) => x.cpuMs));
    const ratio = median(results.mlmon.map((x, k) => x.cpuMs / (results[s][k] as CpuRun).cpuMs));
    console.log(
      `- ${s}: ${m.toFixed(0)} ms (${((m * 1000) / n).toFixed(1)} µs/event); mlmon ÷ ${s} ${ratio.toFixed(2)}x`,
    );
  }
  console.log(
    `mlmon median: ${mine.toFixed(0)} ms; load average now ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

async function main(): Promise<void> {
  await installTemplates(client);
  console.log('# mlmon logger benchmark');
  console.log(`command: npm run bench:logger (ES_URL=${ES_URL}${QUICK ? ', BENCH_QUICK=1' : ''})`);
  console.log(
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM ` +
      `(${(freemem() / 2 ** 30).toFixed(1)} GiB free), node ${process.version}, Elasticsearch ${await serverVersion(ES_URL)}, ` +
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} (the machine is shared: other work runs on it)`,
  );
  const only = process.env.BENCH_ONLY;
  if (!only || only.includes('a')) await benchCallerCost();
  if (!only || only.includes('b')) await benchIngest();
  if (!only || only.includes('c')) await benchOutageRss();
  if (!only || only.includes('d')) await benchCpu();
  await client.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
