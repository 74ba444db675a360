/**
 * Logger benchmark: `npm run bench:logger` (ES_URL, default http://127.0.0.1:9250).
 *
 * (a) caller-side cost of logPrediction for a 20-feature event, median and p99, against a bare
 *     winston logger with a no-op transport on the same events;
 * (b) sustained ingest rate into Elasticsearch against client.helpers.bulk sending the same documents;
 * (c) peak RSS during a 60 s outage at 2,000 predictions/s with the default buffer settings.
 *
 * BENCH_QUICK=1 shortens (b) and (c) for a smoke run; BENCH_ONLY=a|b|c runs some parts; BENCH_ROUNDS,
 * BENCH_CONCURRENCY and BENCH_BATCH_BYTES tune (b). Results go to bench/RESULTS.md by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { installTemplates } from '../src/elastic/templates.js';
import { serverVersion } from '../src/elastic/local-cluster.js';
import { createPredictionLogger, SHIPPER_DEFAULTS, type PredictionEvent } from '../src/logger/index.js';
import { logStream } from '../src/schema/streams.js';

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
  await client.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
