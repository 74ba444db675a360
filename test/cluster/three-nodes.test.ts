/**
 * mlmon on a 3-node Elasticsearch cluster (three processes of the same distribution on 127.0.0.1,
 * started by this file on free ports and stopped at the end), with every data stream on 3 primary
 * shards and 1 replica, against the single-node, single-shard cluster of the global setup:
 *
 * (a) the analyzer's drift, quality, performance and service results are the same on both.
 *     With the same stored baseline they are equal (to floating-point summation order): every
 *     statistic comes from exact `range`/`terms`/`stats` counts and sums, which do not depend on
 *     how documents are spread over shards. The one approximate input is the baseline's bin edges:
 *     `percentiles` (t-digest, compression 200) merged across shards. A baseline profiled on 3
 *     shards therefore has slightly different edges; we bound the error of each edge and derive
 *     from it the bound on the KS difference (see `ksBound`).
 * (c) two scheduler replicas (the real `mlmon schedule`, one talking to node 1 and one to node 2)
 *     produce exactly one result per window, and those results equal the single-node ones (a).
 * (b) the logger loses and duplicates nothing while the elected master is SIGKILLed and restarted
 *     in the middle of steady ingest.
 *
 * (a) and (c) share a seeded data set, loaded into both clusters by their block's `beforeAll`, so a
 * run of (b) alone (`-t 'elected master is SIGKILLed'`, CI's 8.19 step) does not load it.
 */
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyze } from '../../src/analyzer/job.js';
import { LocalMultiNodeCluster } from '../../tools/elasticsearch/local-cluster.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { profileFromElasticsearch } from '../../src/profiles/from-elasticsearch.js';
import { saveBaseline } from '../../src/profiles/store.js';
import type { DatasetProfile, NumericFeatureProfile } from '../../src/profiles/types.js';
import { validateConfig } from '../../src/schema/config.js';
import { logStream, resultStream, type ResultStreamKind } from '../../src/schema/streams.js';
import { defaultJobRegistry } from '../../src/scheduler/index.js';
import { createJsonLogger } from '../../src/scheduler/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { binCounts, ksFromBinnedCounts, psiFromCounts } from '../../src/stats/drift/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, sleep, tempSpoolDir } from '../logger/helpers.js';
import { bulkCreate, normal, seededRandom } from '../performance/fixtures.js';
import { SchedulerProcess, tempDir, waitUntilSettled, writeConfig } from '../scheduler/helpers.js';

const HOUR = 3_600_000;
const MODEL = 'credit';
const REF_HOURS = 4;
const WINDOWS = 6;
const REF_PER_HOUR = 5000;
const PER_HOUR = 2000;
const NUMERIC = ['x', 'y', 'z'] as const;
const JOBS = ['drift', 'quality', 'performance', 'service'] as const;
/** t-digest compression of the profile's `percentiles` (src/profiles/from-elasticsearch.ts). */
const TDIGEST_COMPRESSION = 200;

/**
 * The cluster runs the single node's version (the global setup's: `ES_VERSION`, default the pinned
 * 9.x), so that 1 node and 3 are compared on the same Elasticsearch: `ES_VERSION=8.19.21 npm run
 * test:cluster` runs both on 8.19. With `ES_URL` the single node's version is what it reports.
 */
const version = inject('esVersion') === 'unknown' ? undefined : inject('esVersion');
const cluster = new LocalMultiNodeCluster({ name: `three-${process.pid}`, nodes: 3, version, log: () => {} });
const one = testClient();
let three: Client;
const namespace = uniqueNamespace('three');
// Windows of whole hours, all in the past: reference hours 0–3, analyzed hours 4–9.
const base = alignDown(Date.now(), HOUR) - 12 * HOUR;
const hourStart = (h: number) => base + h * HOUR;
const windowStarts = Array.from({ length: WINDOWS }, (_, k) => hourStart(REF_HOURS + k));

/** Raw feature values per hour, kept here to compute exact expectations. */
const values = new Map<number, Record<(typeof NUMERIC)[number], number[]>>();

/**
 * The seeded data set: x ~ N(0,1), shifted by +0.6 from hour 7; y ~ Exp(1), missing in 10 % of
 * hour 8; z ~ U(0,100), never drifting; seg a/b/c at 50/30/20 %, 20/30/50 % from hour 7, and a new
 * category d in hour 9. The score is sigmoid(x); the outcome follows sigmoid(x) up to hour 7 and
 * sigmoid(−x/2) after (concept drift: realised accuracy falls from about 0.7 to under 0.5).
 */
function dataset(): {
  predictions: Array<{ id: string; document: Record<string, unknown> }>;
  outcomes: Array<{ document: Record<string, unknown> }>;
} {
  const random = seededRandom(20261127);
  const predictions: Array<{ id: string; document: Record<string, unknown> }> = [];
  const outcomes: Array<{ document: Record<string, unknown> }> = [];
  for (let h = 0; h < REF_HOURS + WINDOWS; h++) {
    const n = h < REF_HOURS ? REF_PER_HOUR : PER_HOUR;
    const hourValues = { x: [] as number[], y: [] as number[], z: [] as number[] };
    for (let i = 0; i < n; i++) {
      const x = normal(random) + (h >= 7 ? 0.6 : 0);
      const y = -Math.log(Math.max(random(), 1e-12));
      const z = random() * 100;
      const u = random();
      const seg =
        h === 9 && i % 10 === 0
          ? 'd'
          : h >= 7
            ? u < 0.2
              ? 'a'
              : u < 0.5
                ? 'b'
                : 'c'
            : u < 0.5
              ? 'a'
              : u < 0.8
                ? 'b'
                : 'c';
      const yMissing = h === 8 && i % 10 === 0;
      const score = 1 / (1 + Math.exp(-x));
      const label = score >= 0.5 ? '1' : '0';
      const pTrue = h >= 7 ? 1 / (1 + Math.exp(x / 2)) : score;
      const actual = random() < pTrue ? '1' : '0';
      const at = hourStart(h) + Math.floor((i * HOUR) / n);
      const id = `${namespace}-${h}-${i}`;
      hourValues.x.push(x);
      if (!yMissing) hourValues.y.push(y);
      hourValues.z.push(z);
      predictions.push({
        id,
        document: {
          '@timestamp': new Date(at).toISOString(),
          prediction: { id, label, score },
          model: { name: MODEL, version: '1' },
          features: { x, ...(yMissing ? {} : { y }), z, seg },
          event: { duration: 1_000_000 + (i % 10) * 100_000 },
        },
      });
      outcomes.push({
        document: {
          '@timestamp': new Date(at + 60_000).toISOString(),
          prediction: { id },
          model: { name: MODEL, version: '1' },
          actual: { label: actual },
        },
      });
    }
    values.set(h, hourValues);
  }
  return { predictions, outcomes };
}

function schedulerConfig(owner?: string) {
  return {
    namespace,
    scheduler: {
      ...(owner ? { owner } : {}),
      lockTtl: '60s',
      heartbeat: '2s',
      maxCatchUp: 100,
      shutdownGrace: '20s',
    },
    models: [
      {
        name: MODEL,
        versions: ['1'],
        baseline: 'training',
        window: '1h',
        every: '1s',
        delay: '0s',
        start: new Date(hourStart(REF_HOURS)).toISOString(),
        jobs: [...JOBS],
        performance: { positiveClass: '1', threshold: 0.5 },
      },
    ],
  };
}

type Doc = Record<string, unknown>;

/** Result documents of the analyzed windows, by id. */
async function results(client: Client, kind: ResultStreamKind): Promise<Map<string, Doc>> {
  const index = resultStream(kind, namespace);
  await client.indices.refresh({ index, ignore_unavailable: true });
  const response = await client.search<Doc>({
    index,
    size: 10_000,
    ignore_unavailable: true,
    query: {
      range: {
        'window.start': {
          gte: new Date(windowStarts[0] as number).toISOString(),
          lte: new Date(windowStarts.at(-1) as number).toISOString(),
        },
      },
    },
  });
  return new Map(response.hits.hits.map((h) => [h._id as string, h._source as Doc]));
}

/**
 * Fields that say when or by whom a document was written, not what was measured: they differ
 * between any two runs, on one node or three.
 */
const VOLATILE = new Set(['@timestamp', 'event.created', 'event.ingested', 'mlmon.run', 'agent', 'host']);

/** Every leaf of a document as path → value (arrays by index). */
function leaves(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (VOLATILE.has(path)) return out;
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      leaves(v, path ? `${path}.${k}` : k, out);
  } else out.set(path, value);
  return out;
}

/**
 * Differences between two result documents: a number may differ by floating-point summation
 * order only (sums over shards add in another order; relative 1e-9 is ~10^7 ulps, far below any
 * reported digit), anything else must be identical.
 */
function differences(a: Doc, b: Doc): string[] {
  const la = leaves(a);
  const lb = leaves(b);
  const out: string[] = [];
  for (const key of new Set([...la.keys(), ...lb.keys()])) {
    const x = la.get(key);
    const y = lb.get(key);
    if (typeof x === 'number' && typeof y === 'number') {
      if (Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))) out.push(`${key}: ${x} vs ${y}`);
    } else if (x !== y) out.push(`${key}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  }
  return out;
}

/** Share of `sorted` strictly below `e` (the empirical CDF as a `range` bin boundary sees it). */
function below(sorted: number[], e: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < e) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

const sortedNumbers = (xs: number[]) => Float64Array.from(xs).sort() as unknown as number[];

beforeAll(async () => {
  await cluster.start();
  process.stdout.write(
    `[mlmon tests] 3-node cluster: Elasticsearch ${cluster.version} at ${cluster.urls.join(', ')}\n`,
  );
  three = new Client({ nodes: cluster.urls, requestTimeout: 120_000 });
  await installTemplates(one);
  // 3 primaries per backing index; the shipped auto_expand_replicas 0-1 gives each a replica.
  await installTemplates(three, { shards: { primaries: 3 } });
}, 900_000);

afterAll(async () => {
  await three?.close();
  await one.close();
  await cluster.stop();
  cluster.removeData();
}, 180_000);

describe('a 3-node cluster, 3 primary shards and a replica per backing index', () => {
  // The seeded data set, loaded into both clusters only when a test of this block runs (CI's 8.19
  // step runs only (b), which logs data of its own: .ci/run).
  describe('the seeded data set on 1 node and on 3', () => {
    beforeAll(async () => {
      const { predictions, outcomes } = dataset();
      for (const client of [one, three]) {
        await bulkCreate(client, logStream('prediction', namespace), predictions);
        await bulkCreate(client, logStream('outcome', namespace), outcomes);
      }
    }, 900_000);

    it('spreads the prediction stream over the nodes: 3 primaries and 3 replicas, on all 3 nodes', async () => {
      await three.cluster.health({ index: logStream('prediction', namespace), wait_for_status: 'green' });
      const shards = await three.cat.shards({ index: logStream('prediction', namespace), format: 'json' });
      const started = shards.filter((s) => s.state === 'STARTED');
      expect(started.filter((s) => s.prirep === 'p')).toHaveLength(3);
      expect(started.filter((s) => s.prirep === 'r')).toHaveLength(3);
      expect(new Set(started.map((s) => s.node)).size).toBe(3);
      // The single-node cluster: one shard, no replica (the comparison is 1 shard against 3).
      const single = await one.cat.shards({ index: logStream('prediction', namespace), format: 'json' });
      expect(single.filter((s) => s.prirep === 'p')).toHaveLength(1);
    });

    it('(c)+(a) two scheduler replicas write exactly one result per window, equal to the single-node results', async () => {
      // The same baseline in both clusters: profiled on the single node, stored as is in both.
      const profile = await profileFromElasticsearch(one, {
        namespace,
        model: MODEL,
        version: '1',
        from: new Date(hourStart(0)),
        to: new Date(hourStart(REF_HOURS)),
      });
      for (const client of [one, three])
        await saveBaseline(client, { model: MODEL, version: '1', id: 'training', namespace }, profile, {
          replace: true,
        });

      // Single node: one scheduler pass in this process.
      const single = new Scheduler({
        config: validateConfig(schedulerConfig('single'), { env: {} }),
        client: one,
        registry: defaultJobRegistry(),
        log: createJsonLogger({ write: () => true } as unknown as NodeJS.WritableStream, { level: 'error' }),
      });
      const pass = await single.runDue();
      expect(pass.failed).toBe(0);

      // Three nodes: two `mlmon schedule` processes, each on another node, each job slowed down by
      // 400 ms so that both find windows to do.
      const config = writeConfig(tempDir('three'), 'mlmon.config.json', schedulerConfig());
      const replicas = [1, 2].map(
        (node) =>
          new SchedulerProcess(['--config', config], {
            ES_URL: cluster.urls[node] as string,
            MLMON_OWNER: `replica-${node}`,
            MLMON_TEST_JOB_DELAY_MS: '400',
          }),
      );
      try {
        for (const job of JOBS)
          await waitUntilSettled(
            three,
            { job, model: { name: MODEL, version: '1' }, namespace },
            windowStarts,
            600_000,
            () => replicas.map((r) => r.stderr).join('\n'),
          );
      } finally {
        for (const r of replicas) r.kill('SIGTERM');
      }
      const exits = await Promise.all(replicas.map((r) => r.exited));
      expect(exits.map((e) => e.code)).toEqual([0, 0]);

      // Each (job, window) processed by exactly one replica, and both replicas did some.
      const processed = replicas.map((r) =>
        r
          .events('window.processed')
          .map((e) => `${e['job.name'] ?? e.job}|${e['window.start']}`)
          .filter((k) => windowStarts.some((s) => k.endsWith(new Date(s).toISOString()))),
      );
      const all = processed.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(all).toHaveLength(JOBS.length * WINDOWS);
      expect(processed.every((p) => p.length > 0)).toBe(true);

      const summary: string[] = [];
      for (const kind of ['drift', 'quality', 'performance', 'service'] as const) {
        const a = await results(one, kind);
        const b = await results(three, kind);
        // Exactly one document per window and subject: same ids, no id twice (ids are deterministic).
        expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
        expect(a.size).toBeGreaterThan(0);
        const diffs = [...a].flatMap(([id, doc]) =>
          differences(doc, b.get(id) as Doc).map((d) => `${id} ${d}`),
        );
        expect(diffs).toEqual([]);
        summary.push(`${kind} ${a.size}`);
      }
      process.stdout.write(`[three-nodes] equal result documents on 1 and 3 nodes: ${summary.join(', ')}\n`);

      // The documents say what the data holds (so the equality above is not of empty results).
      const drift = [...(await results(three, 'drift')).values()] as Array<{
        window: { start: string };
        feature?: { name: string };
        drift?: { detected?: boolean };
      }>;
      const detected = (feature: string, hour: number) =>
        drift.find((d) => d.feature?.name === feature && Date.parse(d.window.start) === hourStart(hour))
          ?.drift?.detected;
      expect(detected('x', 5)).toBe(false);
      expect(detected('x', 8)).toBe(true);
      expect(detected('z', 8)).toBe(false);
    }, 900_000);

    it('(a) a baseline profiled on 3 shards: edges within the t-digest bound, KS within the bound derived from them', async () => {
      const profiles: Record<'one' | 'three', DatasetProfile> = {
        one: await profileFromElasticsearch(one, {
          namespace,
          model: MODEL,
          version: '1',
          from: new Date(hourStart(0)),
          to: new Date(hourStart(REF_HOURS)),
        }),
        three: await profileFromElasticsearch(three, {
          namespace,
          model: MODEL,
          version: '1',
          from: new Date(hourStart(0)),
          to: new Date(hourStart(REF_HOURS)),
        }),
      };
      const reference = Object.fromEntries(
        NUMERIC.map((f) => [
          f,
          sortedNumbers(Array.from({ length: REF_HOURS }, (_, h) => values.get(h)?.[f] ?? []).flat()),
        ]),
      ) as Record<(typeof NUMERIC)[number], number[]>;

      // 1. Each fine edge's exact rank in the reference against its nominal quantile. The bound: a
      //    t-digest centroid at quantile q holds at most 2π·√(q(1−q))/δ of the data (the k1 scale
      //    function's derivative, δ = compression); an estimate inside a centroid errs by at most its
      //    width, and merging the shards' digests re-clusters once more: 2 × that, plus one value
      //    (1/n) for the quantile definition. At the median, δ = 200: 0.0157 · 2 = 0.031.
      let worstEdge = 0;
      for (const [where, profile] of Object.entries(profiles)) {
        for (const f of NUMERIC) {
          const p = profile.features[`features.${f}`] ?? profile.features[f];
          expect(p?.kind, `${where} ${f}`).toBe('numeric');
          const edges = (p as NumericFeatureProfile).edges;
          // min, the 99 percentiles, the next double above max: no atoms in continuous data.
          expect(edges, `${where} ${f}`).toHaveLength(101);
          const sorted = reference[f];
          for (let k = 1; k < 100; k++) {
            const q = k / 100;
            const error = Math.abs(below(sorted, edges[k] as number) - q);
            const bound =
              (2 * 2 * Math.PI * Math.sqrt(q * (1 - q))) / TDIGEST_COMPRESSION + 1 / sorted.length;
            expect(error, `${where} ${f} edge ${k}`).toBeLessThanOrEqual(bound);
            worstEdge = Math.max(worstEdge, error);
          }
        }
      }

      // 2. Drift against each cluster's own baseline. Given the edges, the analyzer is exact: its
      //    KS and PSI equal the binned statistics computed here from the raw values over the same
      //    edges. Between the clusters only the edges differ, so for KS (a maximum over edges of a
      //    CDF difference) |KS₁ − KS₃| ≤ max_k |F_ref(e¹ₖ) − F_ref(e³ₖ)| + |F_win(e¹ₖ) − F_win(e³ₖ)|.
      for (const [where, client, profile] of [
        ['one', one, profiles.one],
        ['three', three, profiles.three],
      ] as const)
        await saveBaseline(client, { model: MODEL, version: '1', id: `own-${where}`, namespace }, profile, {
          replace: true,
        });
      const runs = await Promise.all(
        (
          [
            [one, 'own-one'],
            [three, 'own-three'],
          ] as const
        ).map(([client, id]) =>
          analyze(client, {
            namespace,
            model: MODEL,
            version: '1',
            from: new Date(windowStarts[0] as number),
            to: new Date((windowStarts.at(-1) as number) + HOUR),
            windowMs: HOUR,
            windowSize: '1h',
            reference: { type: 'baseline', id },
            write: false,
          }),
        ),
      );
      type DriftDoc = {
        window: { start: string };
        feature?: { name: string };
        drift?: Record<string, unknown>;
      };
      let worstKs = 0;
      let worstPsi = 0;
      const edgesOf = (profile: DatasetProfile, f: string) =>
        (profile.features[`features.${f}`] ?? profile.features[f]) as NumericFeatureProfile;
      for (const start of windowStarts) {
        const hour = (start - base) / HOUR;
        for (const f of NUMERIC) {
          const window = sortedNumbers(values.get(hour)?.[f] ?? []);
          const got: Record<'one' | 'three', { ks: number; psi: number }> = {
            one: { ks: 0, psi: 0 },
            three: { ks: 0, psi: 0 },
          };
          for (const [i, where] of (['one', 'three'] as const).entries()) {
            const p = edgesOf(profiles[where], f);
            const doc = runs[i]?.documents
              .map((x) => x.document as DriftDoc)
              .find(
                (x) =>
                  (x.feature?.name === f || x.feature?.name === `features.${f}`) &&
                  Date.parse(x.window.start) === start,
              );
            expect(doc, `${where} ${f} ${hour}`).toBeDefined();
            const drift = doc?.drift as { ks?: number; psi?: number; statistics?: Record<string, number> };
            const ks = drift.ks ?? drift.statistics?.ks;
            const psi = drift.psi ?? drift.statistics?.psi;
            const expectedKs = ksFromBinnedCounts(
              p.edges,
              binCounts(p.edges, reference[f]),
              binCounts(p.edges, window),
            ).statistic;
            const expectedPsi = psiFromCounts(
              binCounts(p.psiEdges, reference[f]),
              binCounts(p.psiEdges, window),
            );
            expect(ks, `${where} ${f} hour ${hour} ks`).toBeCloseTo(expectedKs, 12);
            expect(psi, `${where} ${f} hour ${hour} psi`).toBeCloseTo(expectedPsi, 12);
            got[where] = { ks: ks as number, psi: psi as number };
          }
          const e1 = edgesOf(profiles.one, f).edges;
          const e3 = edgesOf(profiles.three, f).edges;
          let bound = 0;
          for (let k = 0; k < e1.length; k++)
            bound = Math.max(
              bound,
              Math.abs(below(reference[f], e1[k] as number) - below(reference[f], e3[k] as number)) +
                Math.abs(below(window, e1[k] as number) - below(window, e3[k] as number)),
            );
          const dKs = Math.abs(got.one.ks - got.three.ks);
          expect(dKs, `${f} hour ${hour}`).toBeLessThanOrEqual(bound + 1e-12);
          worstKs = Math.max(worstKs, dKs);
          worstPsi = Math.max(worstPsi, Math.abs(got.one.psi - got.three.psi));
        }
      }
      process.stdout.write(
        `[three-nodes] own baselines: worst edge rank error ${worstEdge.toFixed(4)}, ` +
          `worst |KS1-KS3| ${worstKs.toFixed(4)}, worst |PSI1-PSI3| ${worstPsi.toFixed(4)}\n`,
      );
    }, 300_000);
  });

  it('(b) the logger loses and duplicates nothing while the elected master is SIGKILLed and restarted mid-ingest', async () => {
    const ns = uniqueNamespace('threekill');
    const dir = tempSpoolDir('threekill');
    // The client a service would use for a cluster: every node, dead ones retried later.
    const client = new Client({ nodes: cluster.urls, requestTimeout: 30_000 });
    const logger = createPredictionLogger({
      node: client,
      namespace: ns,
      model: { name: 'kill', version: '1' },
      spool: { dir },
      flushIntervalMs: 200,
      retryMaxMs: 2000,
      closeTimeoutMs: 120_000,
      onWarning: () => {},
    });
    const ids: string[] = [];
    const event = (i: number) => ({
      features: { amount: i * 0.5, country: ['de', 'fr', 'us'][i % 3], n: i },
      prediction: { label: String(i % 2), score: (i % 100) / 100 },
      latencyMs: 2,
    });
    // About 100 predictions a second for the whole test.
    const producer = setInterval(() => ids.push(logger.logPrediction(event(ids.length))), 10);
    try {
      // Mid-ingest: the stream exists and predictions are being stored (the first write creates
      // the data stream, which can take long on a loaded machine).
      for (const end = Date.now() + 300_000; logger.counters.indexed === 0 && Date.now() < end;)
        await sleep(200);
      expect(logger.counters.indexed).toBeGreaterThan(0);
      await sleep(2000);
      const master = (await three.cat.master({ format: 'json' }))[0]?.node as string;
      const victim = Number(/node-(\d+)/.exec(master)?.[1]);
      expect([0, 1, 2]).toContain(victim);
      const beforeKill = ids.length;
      await cluster.killNode(victim);
      // The other two elect a master and promote replicas; the cluster runs on two nodes.
      const survivor = cluster.urls[(victim + 1) % 3] as string;
      const survivors = new Client({ node: survivor, requestTimeout: 120_000 });
      const health = await survivors.cluster.health({ wait_for_nodes: '2', timeout: '120s' });
      expect(health.number_of_nodes).toBe(2);
      await survivors.close();
      await sleep(10_000);
      await cluster.startNode(victim);
      await sleep(5000);
      clearInterval(producer);
      expect(ids.length).toBeGreaterThan(beforeKill);
      expect(await logger.flush(120_000)).toBe(true);
      const counters = await logger.close();
      process.stdout.write(
        `[three-nodes] killed ${master}; logged ${ids.length} (${beforeKill} before the kill), ` +
          `retried ${counters.retried}, spooled ${counters.spooled}, conflicts ${counters.conflicts}\n`,
      );
      expect(counters).toMatchObject({
        accepted: ids.length,
        indexed: ids.length,
        dropped: 0,
        deadLettered: 0,
      });
      const stored = await countsById(three, logStream('prediction', ns));
      expect(compareIds(ids, stored)).toEqual({ missing: [], duplicated: [], unexpected: [] });
      // The restarted node is back and every copy is assigned again.
      const green = await three.cluster.health({
        wait_for_status: 'green',
        wait_for_nodes: '3',
        timeout: '300s',
      });
      expect(green.status).toBe('green');
    } finally {
      clearInterval(producer);
      await client.close();
    }
  }, 900_000);
});
