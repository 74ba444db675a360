/**
 * Analyzer benchmark: one window of N predictions (default 1M; BENCH_SIZE=10000000 for 10M) with 20
 * features (14 numeric, 6 categorical) and a score, against a 100k-document reference baseline.
 *
 * Measures (median of BENCH_RUNS warm runs, default 3; the minimum too, the run least disturbed by
 * other load on a shared machine):
 * - the analyzer's wall time for the window (`analyze`, results written), in a child process whose
 *   peak RSS is reported;
 * - Elasticsearch alone: the wall time of the same requests (count, the window's parts and the
 *   concept-drift request at once);
 * - the analyzer with each window as one request (the previous behaviour), for comparison;
 * - export-and-compute: the window and the reference pulled out with PIT + search_after and the
 *   statistics computed in process with the exact functions.
 *
 * Usage: ES_URL=http://127.0.0.1:9250 npm run bench:analyzer   (BENCH_SIZE, BENCH_SKIP_EXPORT=1)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { installTemplates } from '../src/elastic/templates.js';
import { analyze, CONCEPT_SAMPLE_SIZE, REQUESTS_PER_WINDOW } from '../src/analyzer/job.js';
import { conceptAggregations, windowAggregations } from '../src/analyzer/window-request.js';
import { asAggs, splitAggregations } from '../src/elastic/aggs.js';
import { capabilities } from '../src/elastic/capabilities.js';
import { rangeQuery } from '../src/elastic/filters.js';
import { monitoredFields } from '../src/elastic/source.js';
import { logStream } from '../src/schema/streams.js';
import { profileFromElasticsearch } from '../src/profiles/from-elasticsearch.js';
import { getBaseline, saveBaseline } from '../src/profiles/store.js';
import { categoricalDrift, numericDrift } from '../src/stats/drift/index.js';
import { seededRandom as rng } from '../test/helpers/random.js';
import { indexSlot } from './index-slot.js';

const N = Number(process.env.BENCH_SIZE ?? 1_000_000);
const N_REF = 100_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NS = `bench${N}`;
const MODEL = 'bench';
const VERSION = '1';
const REF_START = Date.parse('2024-01-01T00:00:00Z');
const WIN_START = Date.parse('2024-01-02T00:00:00Z');
const DAY = 86_400_000;
const NUMERIC = 14;
/** Concurrent requests per window (the analyzer's default unless BENCH_REQUESTS says otherwise). */
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? REQUESTS_PER_WINDOW);
const CATEGORICAL = 6;

async function* documents(
  n: number,
  start: number,
  seed: number,
  shift: number,
): AsyncGenerator<Record<string, unknown>> {
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
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
      '@timestamp': new Date(start + Math.floor((i * DAY) / n)).toISOString(),
      model: { name: MODEL, version: VERSION },
      features,
      prediction: { score, label: score > 0.5 ? '1' : '0' },
    };
  }
}

async function count(client: Client, from: number, to: number): Promise<number> {
  const r = await client.count({
    index: logStream('prediction', NS),
    ignore_unavailable: true,
    query: rangeQuery({ model: MODEL, version: VERSION }, new Date(from), new Date(to)),
  });
  return r.count;
}

async function ensureData(client: Client): Promise<void> {
  await installTemplates(client);
  for (const [n, start, seed, shift] of [
    [N_REF, REF_START, 1, 0],
    [N, WIN_START, 2, 0.2],
  ] as const) {
    await indexSlot(client, NS, n, await count(client, start, start + DAY), documents(n, start, seed, shift));
  }
  await client.indices
    .forcemerge({ index: logStream('prediction', NS), max_num_segments: 1 })
    .catch(() => undefined);
  if (!(await getBaseline(client, { model: MODEL, version: VERSION, id: 'bench', namespace: NS }))) {
    const profile = await profileFromElasticsearch(client, {
      namespace: NS,
      model: MODEL,
      version: VERSION,
      from: new Date(REF_START),
      to: new Date(REF_START + DAY),
    });
    await saveBaseline(client, { model: MODEL, version: VERSION, id: 'bench', namespace: NS }, profile);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Child process: the analyzer (so that its peak RSS is its own), interleaved with the same
 * aggregation request sent alone, so that load from anything else on the machine hits both alike.
 */
async function childAnalyze(client: Client): Promise<void> {
  const stored = await getBaseline(client, { model: MODEL, version: VERSION, id: 'bench', namespace: NS });
  if (!stored) throw new Error('no baseline');
  const caps = await capabilities(client);
  const fields = await monitoredFields(client, NS, {
    from: new Date(WIN_START),
    to: new Date(WIN_START + DAY),
  });
  const plan = windowAggregations(stored.profile, fields, { matrixStats: caps.matrixStats });
  const withWrite: number[] = [];
  const compute: number[] = [];
  const oneRequest: number[] = [];
  const esWall: number[] = [];
  const query = rangeQuery(
    { model: MODEL, version: VERSION },
    new Date(WIN_START),
    new Date(WIN_START + DAY),
  );
  const run = (write: boolean, requestsPerWindow: number) =>
    analyze(client, {
      write,
      requestCache: false,
      requestsPerWindow,
      namespace: NS,
      model: MODEL,
      version: VERSION,
      from: new Date(WIN_START),
      to: new Date(WIN_START + DAY),
      windowMs: DAY,
      windowSize: '1d',
      reference: { type: 'baseline', id: 'bench' },
    });
  for (let i = 0; i <= RUNS; i++) {
    // Run 0 warms caches. Each round: the analyzer as shipped (with and without writing results),
    // the analyzer sending each window as one request (the previous behaviour), and Elasticsearch
    // alone answering the same requests the analyzer sends.
    for (const [series, write, requests] of [
      [compute, false, REQUESTS],
      [withWrite, true, REQUESTS],
      [oneRequest, true, 1],
    ] as const) {
      const t = performance.now();
      await run(write, requests);
      if (i > 0) series.push(performance.now() - t);
    }
    // The analyzer's requests: a count, then the window's aggregations split into REQUESTS parts
    // and the concept-drift request (sampled at the analyzer's default size when the cluster has
    // random_sampler), all at once.
    const concept = conceptAggregations(plan);
    const p = CONCEPT_SAMPLE_SIZE / N;
    const requests = [
      ...splitAggregations(plan.aggs, REQUESTS),
      ...(Object.keys(concept).length > 0
        ? [
            caps.randomSampler && p < 0.5
              ? { sample: { random_sampler: { probability: p, seed: 42 }, aggs: concept } }
              : concept,
          ]
        : []),
    ];
    const t = performance.now();
    await client.count({ index: logStream('prediction', NS), query });
    await Promise.all(
      requests.map((aggs) =>
        client.search({
          index: logStream('prediction', NS),
          size: 0,
          track_total_hits: true,
          request_cache: false,
          query,
          aggs: asAggs(aggs),
        }),
      ),
    );
    if (i > 0) {
      esWall.push(performance.now() - t);
    }
  }
  process.stdout.write(
    `${JSON.stringify({
      analyzerMs: median(withWrite),
      computeMs: median(compute),
      oneRequestMs: median(oneRequest),
      esWallMs: median(esWall),
      runs: { withWrite, compute, oneRequest, esWall },
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

async function exportColumns(
  client: Client,
  from: number,
  to: number,
): Promise<Map<string, Array<number | string>>> {
  const columns = new Map<string, Array<number | string>>();
  const pit = await client.openPointInTime({ index: logStream('prediction', NS), keep_alive: '2m' });
  let after: unknown[] | undefined;
  try {
    for (;;) {
      const r = await client.search<{ features: Record<string, number | string> }>({
        size: 10_000,
        pit: { id: pit.id, keep_alive: '2m' },
        query: rangeQuery({ model: MODEL, version: VERSION }, new Date(from), new Date(to)),
        _source: ['features'],
        sort: [{ _shard_doc: 'asc' }],
        ...(after ? { search_after: after as never } : {}),
      });
      const hits = r.hits.hits;
      if (hits.length === 0) break;
      for (const h of hits) {
        for (const [k, v] of Object.entries(h._source?.features ?? {})) {
          let col = columns.get(k);
          if (!col) columns.set(k, (col = []));
          col.push(v);
        }
      }
      after = hits[hits.length - 1]?.sort as unknown[];
    }
  } finally {
    await client.closePointInTime({ id: pit.id });
  }
  return columns;
}

async function exportAndCompute(client: Client): Promise<{ ms: number; rssMB: number }> {
  const t = performance.now();
  const ref = await exportColumns(client, REF_START, REF_START + DAY);
  const cur = await exportColumns(client, WIN_START, WIN_START + DAY);
  for (const [name, values] of cur) {
    const r = ref.get(name) ?? [];
    if (typeof values[0] === 'number') numericDrift(r as number[], values as number[]);
    else {
      const tally = (xs: Array<number | string>): Map<string, number> => {
        const m = new Map<string, number>();
        for (const x of xs) m.set(String(x), (m.get(String(x)) ?? 0) + 1);
        return m;
      };
      categoricalDrift(tally(r), tally(values));
    }
  }
  return { ms: performance.now() - t, rssMB: process.resourceUsage().maxRSS / 1024 };
}

async function main(): Promise<void> {
  const client = new Client({ node: process.env.ES_URL ?? 'http://127.0.0.1:9250', requestTimeout: 600_000 });
  try {
    if (process.argv.includes('--child-analyze')) return await childAnalyze(client);
    await ensureData(client);
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child-analyze'],
      {
        env: process.env,
        encoding: 'utf8',
      },
    );
    if (child.status !== 0) throw new Error(`analyzer child failed: ${child.stderr}`);
    const analyzer = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
      analyzerMs: number;
      computeMs: number;
      oneRequestMs: number;
      esWallMs: number;
      runs: {
        withWrite: number[];
        compute: number[];
        oneRequest: number[];
        esWall: number[];
      };
      maxRssMB: number;
    };
    const es = { wallMs: analyzer.esWallMs };
    console.log(`runs (ms): ${JSON.stringify(analyzer.runs)}`);
    console.log(
      `documents in the window: ${N}, reference: ${N_REF}, features: ${NUMERIC} numeric + ${CATEGORICAL} categorical`,
    );
    console.log(
      `analyzer wall time (median of ${RUNS} warm runs): ${analyzer.analyzerMs.toFixed(0)} ms (min ${Math.min(...analyzer.runs.withWrite).toFixed(0)} ms), peak RSS ${analyzer.maxRssMB.toFixed(0)} MB`,
    );
    console.log(
      `Elasticsearch alone, same requests (count, then ${REQUESTS} window parts + concept at once): wall ${es.wallMs.toFixed(0)} ms (min ${Math.min(...analyzer.runs.esWall).toFixed(0)} ms)`,
    );
    console.log(
      `analyzer with each window as one request (median of ${RUNS}): ${analyzer.oneRequestMs.toFixed(0)} ms (min ${Math.min(...analyzer.runs.oneRequest).toFixed(0)} ms); split / one request: ${(analyzer.analyzerMs / analyzer.oneRequestMs).toFixed(2)}x`,
    );
    console.log(
      `analyzer without writing results (median of ${RUNS}): ${analyzer.computeMs.toFixed(0)} ms (min ${Math.min(...analyzer.runs.compute).toFixed(0)} ms)`,
    );
    console.log(`analyzer (no write) / Elasticsearch wall: ${(analyzer.computeMs / es.wallMs).toFixed(2)}x`);
    console.log(
      `analyzer (with write) / Elasticsearch wall: ${(analyzer.analyzerMs / es.wallMs).toFixed(2)}x`,
    );
    if (!process.env.BENCH_SKIP_EXPORT) {
      const exp = await exportAndCompute(client);
      console.log(`export-and-compute: ${(exp.ms / 1000).toFixed(1)} s, peak RSS ${exp.rssMB.toFixed(0)} MB`);
      console.log(
        `export-and-compute / analyzer (with write): ${(exp.ms / analyzer.analyzerMs).toFixed(1)}x (against the analyzer's fastest run: ${(exp.ms / Math.min(...analyzer.runs.withWrite)).toFixed(1)}x; against one request per window: ${(exp.ms / analyzer.oneRequestMs).toFixed(1)}x)`,
      );
    }
  } finally {
    await client.close();
  }
}

await main();
