/**
 * Scale benchmark: BENCH_SIZE predictions (default 1M; the issue's figure is 10M) spread evenly over
 * 30 days for 5 models with 20 features each (14 numeric, 6 categorical, as bench/analyzer.bench.ts),
 * analyzed in hourly windows through the scheduler.
 *
 * Measures:
 * - indexing: wall time and documents per second (bulk helper, BENCH_CONCURRENCY requests of
 *   BENCH_FLUSH_MB in flight, default 3 × 8 MB; refresh off and no replica during the load, the
 *   template's settings restored after it and the stream waited green);
 * - Elasticsearch disk per million predictions: store size of the prediction stream, primaries
 *   and all copies, after a refresh and a flush (what a running cluster holds, merges as far as
 *   they got), and again at the end after a force merge to one segment per shard (steady, does not
 *   depend on merge state; BENCH_FORCE_MERGE=0 skips it);
 * - the scheduler: one day of hourly windows (24 × 5 models × the drift and service jobs; drift
 *   writes the quality documents too) in a child process, all models' passes at once as the cron
 *   triggers them; its wall time and peak RSS;
 * - the analyzer alone: the same day's drift and quality (`analyze` over 24 hourly windows, one
 *   model after the other) in another child process; wall time and peak RSS;
 * - the load average (1 min) before and after each measurement, since the machine is shared.
 *
 * Cluster: `ES_URL` when set (whatever it is, the shard layout used is reported); else a cluster of
 * BENCH_NODES (default 1) started here on free ports and removed at the end. The prediction stream
 * gets BENCH_SHARDS primaries (default: one per node) when this run installs the templates.
 *
 * Usage: BENCH_SIZE=1000000 BENCH_NODES=3 npm run bench:scale
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { analyze } from '../src/analyzer/job.js';
import { freePort, LocalMultiNodeCluster, LocalCluster } from '../tools/elasticsearch/local-cluster.js';
import { installTemplates } from '../src/elastic/templates.js';
import { profileFromElasticsearch } from '../src/profiles/from-elasticsearch.js';
import { getBaseline, saveBaseline } from '../src/profiles/store.js';
import { validateConfig } from '../src/schema/config.js';
import { logStream, STATE_INDEX } from '../src/schema/streams.js';
import { defaultJobRegistry } from '../src/scheduler/index.js';
import { createJsonLogger } from '../src/scheduler/log.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { checkpointId, windowStateId } from '../src/scheduler/state.js';
import { seededRandom } from '../test/helpers/random.js';

const N = Number(process.env.BENCH_SIZE ?? 1_000_000);
const MODELS = ['m0', 'm1', 'm2', 'm3', 'm4'];
const DAYS = 30;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NUMERIC = 14;
const CATEGORICAL = 6;
const NS = `scale${N}`;
const JOBS = ['drift', 'service'] as const;
/** Bulk requests in flight and their size: enough to keep Elasticsearch's write threads busy. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 3);
const FLUSH_BYTES = Number(process.env.BENCH_FLUSH_MB ?? 8) * 1e6;
/** The data ends at the last midnight; the analyzed day is the last one, day 29. */
const END = Math.floor(Date.now() / DAY) * DAY;
const START = END - DAYS * DAY;
const DAY_ANALYZED = END - DAY;

const load = () => loadavg()[0]?.toFixed(2) ?? '?';

/** Predictions in time order, models interleaved; features drift from day 20 on. */
async function* documents(): AsyncGenerator<Record<string, unknown>> {
  const r = seededRandom(7);
  for (let i = 0; i < N; i++) {
    const at = START + Math.floor((i * DAYS * DAY) / N);
    const shift = at >= START + 20 * DAY ? 0.3 : 0;
    const features: Record<string, number | string> = {};
    for (let k = 0; k < NUMERIC; k++) {
      const u = 1 - r();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
      features[`n${k}`] =
        k % 3 === 0 ? z + shift * (k / NUMERIC) : k % 3 === 1 ? -Math.log(u) * (1 + shift) : r() * 100;
    }
    for (let k = 0; k < CATEGORICAL; k++) {
      const card = [5, 10, 20, 50, 100, 200][k] as number;
      features[`c${k}`] = `v${Math.floor(Math.pow(r(), 1 + shift) * card)}`;
    }
    const score = 1 / (1 + Math.exp(-(features.n0 as number)));
    yield {
      '@timestamp': new Date(at).toISOString(),
      model: { name: MODELS[i % MODELS.length], version: '1' },
      features,
      prediction: { id: `${NS}-${i}`, score, label: score > 0.5 ? '1' : '0' },
      event: { duration: 1_000_000 + Math.floor(r() * 20_000_000) },
    };
  }
}

function config(owner: string) {
  return validateConfig(
    {
      namespace: NS,
      scheduler: { owner, lockTtl: '10m', maxCatchUp: 10_000 },
      models: MODELS.map((name) => ({
        name,
        versions: ['1'],
        baseline: 'day0',
        window: '1h',
        delay: '0s',
        start: new Date(DAY_ANALYZED).toISOString(),
        jobs: [...JOBS],
      })),
    },
    { env: {} },
  );
}

/** Child: the scheduler's passes over the analyzed day, every model at once. */
async function childScheduler(client: Client): Promise<void> {
  const scheduler = new Scheduler({
    config: config(`bench-${process.pid}`),
    client,
    registry: defaultJobRegistry(),
    log: createJsonLogger({ write: () => true } as unknown as NodeJS.WritableStream, { level: 'error' }),
  });
  const cfg = config('x');
  const t = performance.now();
  const passes = await Promise.all(cfg.models.map((m) => scheduler.runModelPass(m, DAY_ANALYZED + DAY)));
  const ms = performance.now() - t;
  const processed = passes.reduce((s, p) => s + p.processed, 0);
  const failed = passes.reduce((s, p) => s + p.failed, 0);
  process.stdout.write(
    `${JSON.stringify({ ms, processed, failed, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
}

/** Child: the analyzer alone on the same day, model after model. */
async function childAnalyzer(client: Client): Promise<void> {
  const t = performance.now();
  let windows = 0;
  for (const model of MODELS) {
    const result = await analyze(client, {
      namespace: NS,
      model,
      version: '1',
      from: new Date(DAY_ANALYZED),
      to: new Date(DAY_ANALYZED + DAY),
      windowMs: HOUR,
      windowSize: '1h',
      reference: { type: 'baseline', id: 'day0' },
      write: true,
    });
    windows += result.versions.reduce((s, v) => s + v.windows.length, 0);
  }
  const ms = performance.now() - t;
  process.stdout.write(
    `${JSON.stringify({ ms, windows, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
}

function child(url: string, role: string): Record<string, number> {
  const result = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), role], {
    env: { ...process.env, ES_URL: url },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${role} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

/** Forget the analyzed day's window states, so that every run of the benchmark does the same work. */
async function resetState(client: Client): Promise<void> {
  const ids: string[] = [];
  for (const name of MODELS)
    for (const job of JOBS) {
      const target = { job, model: { name, version: '1' }, namespace: NS };
      ids.push(checkpointId(target));
      for (let h = 0; h < 24; h++) ids.push(windowStateId(target, new Date(DAY_ANALYZED + h * HOUR)));
    }
  const operations = ids.map((id) => ({ delete: { _index: STATE_INDEX, _id: id } }));
  await client.bulk({ operations, refresh: true }).catch(() => undefined);
}

/**
 * The backing index settings the load changes, as the template left them (null: not set, so the
 * default), to put back afterwards.
 */
const LOAD_SETTINGS = ['refresh_interval', 'number_of_replicas', 'auto_expand_replicas'] as const;

/**
 * Bulk-loading settings: no refresh (nothing searches during the load; each refresh writes a
 * segment and makes merges busier) and no replica (each document indexed once; the replica is
 * copied afterwards, file by file, which is far cheaper than indexing every document twice).
 * Returns the settings to restore.
 */
async function loadSettings(client: Client, stream: string): Promise<Record<string, unknown>> {
  const answer = await client.indices.getSettings({ index: stream, flat_settings: true });
  const current = Object.values(answer)[0]?.settings as Record<string, unknown> | undefined;
  const restore = Object.fromEntries(
    LOAD_SETTINGS.map((k) => [`index.${k}`, current?.[`index.${k}`] ?? null]),
  );
  await client.indices.putSettings({
    index: stream,
    settings: {
      'index.refresh_interval': '-1',
      'index.auto_expand_replicas': false,
      'index.number_of_replicas': 0,
    },
  });
  return restore;
}

async function ensureData(client: Client, primaries: number): Promise<void> {
  await installTemplates(client, { shards: { primaries } });
  const stream = logStream('prediction', NS);
  const have = (await client.count({ index: stream, ignore_unavailable: true })).count;
  if (have !== N) {
    if (have !== 0) throw new Error(`${stream} holds ${have} documents, not ${N}: delete it first`);
    const before = load();
    const t = performance.now();
    let generated = 0;
    let last = performance.now();
    // Progress every 500k documents (read by the bulk helper; at most a few MB ahead of what is
    // indexed), so that a run cut short still says how fast it went.
    const source = (async function* () {
      for await (const doc of documents()) {
        if (++generated % 500_000 === 0) {
          const now = performance.now();
          console.log(
            `  ${generated} read: ${Math.round(500_000 / ((now - last) / 1000))} docs/s over the last 500k, ` +
              `${Math.round(generated / ((now - t) / 1000))} docs/s since the start, load ${load()}, ${new Date().toISOString()}`,
          );
          last = now;
        }
        yield doc;
      }
    })();
    // The first document creates the data stream (this distribution has no create-data-stream API),
    // so that its backing index can take the bulk-loading settings before the rest arrive.
    const first = (await source.next()).value as Record<string, unknown>;
    await client.create({ index: stream, id: (first.prediction as { id: string }).id, document: first });
    const restore = await loadSettings(client, stream);
    const result = await client.helpers.bulk({
      datasource: source,
      onDocument: (doc) => ({
        create: { _index: stream, _id: (doc.prediction as { id: string }).id },
      }),
      flushBytes: FLUSH_BYTES,
      concurrency: CONCURRENCY,
    });
    if (result.failed > 0) throw new Error(`${result.failed} documents failed`);
    const s = (performance.now() - t) / 1000;
    console.log(
      `indexed ${N} predictions in ${s.toFixed(1)} s (${Math.round(N / s)} docs/s; bulk ${CONCURRENCY} x ${FLUSH_BYTES / 1e6} MB, ` +
        `refresh off, no replica), load ${before} -> ${load()}`,
    );
    const t2 = performance.now();
    await client.indices.putSettings({ index: stream, settings: restore });
    await client.indices.refresh({ index: stream });
    await client.cluster.health({ index: stream, wait_for_status: 'green', timeout: '60m' });
    console.log(
      `settings restored (${JSON.stringify(restore)}), refreshed, green in ${((performance.now() - t2) / 1000).toFixed(1)} s, load ${load()}`,
    );
  } else console.log(`reusing ${N} predictions in ${stream}`);
  for (const model of MODELS) {
    if (await getBaseline(client, { model, version: '1', id: 'day0' })) continue;
    const profile = await profileFromElasticsearch(client, {
      namespace: NS,
      model,
      version: '1',
      from: new Date(START),
      to: new Date(START + DAY),
    });
    await saveBaseline(client, { model, version: '1', id: 'day0' }, profile);
  }
}

async function disk(client: Client, when: string): Promise<void> {
  const index = logStream('prediction', NS);
  await client.indices.flush({ index });
  const stats = await client.indices.stats({ index, metric: ['store', 'docs', 'segments'] });
  const primary = stats._all.primaries?.store?.size_in_bytes ?? 0;
  const total = stats._all.total?.store?.size_in_bytes ?? 0;
  const docs = stats._all.primaries?.docs?.count ?? 0;
  const segments = stats._all.total?.segments?.count ?? 0;
  const shards = await client.cat.shards({ index, format: 'json' });
  const p = shards.filter((s) => s.prirep === 'p').length;
  const rep = shards.filter((s) => s.prirep === 'r').length;
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(
    `disk ${when}: ${docs} predictions, ${p} primary and ${rep} replica shards, ${segments} segments in all copies: primaries ${mb(primary)} MB ` +
      `(${mb((primary / docs) * 1e6)} MB per million), all copies ${mb(total)} MB (${mb((total / docs) * 1e6)} MB per million), load ${load()}`,
  );
}

/** Merges every shard of the prediction stream to one segment, so that the disk figure does not depend on merge state. */
async function forceMerge(client: Client): Promise<void> {
  const index = logStream('prediction', NS);
  const before = load();
  const t = performance.now();
  await client.indices.forcemerge({ index, max_num_segments: 1 }, { requestTimeout: 7_200_000 });
  console.log(
    `force merge to 1 segment: ${((performance.now() - t) / 1000).toFixed(1)} s, load ${before} -> ${load()}`,
  );
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === '--child-scheduler' || role === '--child-analyzer') {
    const client = new Client({ node: process.env.ES_URL as string, requestTimeout: 600_000 });
    try {
      await (role === '--child-scheduler' ? childScheduler(client) : childAnalyzer(client));
    } finally {
      await client.close();
    }
    return;
  }
  const nodes = Number(process.env.BENCH_NODES ?? 1);
  let url = process.env.ES_URL;
  let stop = async () => {};
  if (!url) {
    if (nodes > 1) {
      const cluster = new LocalMultiNodeCluster({ name: `bench-scale-${process.pid}`, nodes });
      await cluster.start();
      url = cluster.url;
      stop = async () => {
        await cluster.stop();
        cluster.removeData();
      };
    } else {
      const cluster = new LocalCluster({
        name: `bench-scale-${process.pid}`,
        // Never 9250 (the shared instance's port, taken by LocalCluster's default when it is free).
        port: await freePort(),
        heap: process.env.MLMON_ES_HEAP ?? '1g',
      });
      await cluster.start({ timeoutMs: 600_000 });
      url = cluster.url;
      stop = async () => {
        await cluster.stop();
        rmSync(cluster.instanceDir, { recursive: true, force: true });
      };
    }
  }
  const client = new Client({ node: url, requestTimeout: 600_000 });
  try {
    const info = await client.cat.nodes({ format: 'json', h: 'name,heap.max' });
    console.log(
      `cluster at ${url}: ${info.length} node(s) (${info.map((n) => `${n.name} heap ${n['heap.max']}`).join(', ')}); ` +
        `${N} predictions, ${MODELS.length} models x ${NUMERIC + CATEGORICAL} features, ${DAYS} days`,
    );
    await ensureData(client, Number(process.env.BENCH_SHARDS ?? info.length));
    await disk(client, 'after the load (refresh and flush, merges as they happened)');
    for (let run = 1; run <= Number(process.env.BENCH_RUNS ?? 2); run++) {
      await resetState(client);
      let before = load();
      const s = child(url, '--child-scheduler');
      console.log(
        `run ${run} scheduler, one day of hourly windows (${MODELS.length} models x 24 windows x ${JOBS.join('+')}): ` +
          `${(s.ms as number).toFixed(0)} ms, ${s.processed} window runs, ${s.failed} failed, peak RSS ${(s.maxRssMB as number).toFixed(0)} MB, load ${before} -> ${load()}`,
      );
      before = load();
      const a = child(url, '--child-analyzer');
      console.log(
        `run ${run} analyzer alone, same day (drift and quality, ${a.windows} windows): ` +
          `${(a.ms as number).toFixed(0)} ms, peak RSS ${(a.maxRssMB as number).toFixed(0)} MB, load ${before} -> ${load()}`,
      );
    }
    // Last: on a large stream the force merge takes longest, and the analysis above is measured on
    // the segments as a running cluster has them.
    if (process.env.BENCH_FORCE_MERGE !== '0') {
      await forceMerge(client);
      await disk(client, 'after a force merge to 1 segment per shard');
    }
  } finally {
    await client.close();
    await stop();
  }
}

await main();
