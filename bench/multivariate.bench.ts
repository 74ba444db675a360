/**
 * Multivariate drift cost per window (issue 27): one window of N predictions (BENCH_SIZE, default
 * 1M) with 12 features (10 numeric, 2 categorical), against a baseline fitted on a 20k-document
 * reference. In one process, interleaved so that machine load hits all alike, median of BENCH_RUNS
 * (default 3), request cache off:
 *
 * - `other`: the window's drift and quality requests and their statistics (`analyze` without
 *   multivariate, nothing written) — the baseline the ratio is taken against;
 * - `multivariate`: the sample search (≤ WINDOW_SAMPLE_ROWS rows, seeded random_score) and both
 *   statistics (`multivariateWindow`), with the search alone and the computation apart;
 * - `exact`: what aggregating a per-row reconstruction error attached at ingest would cost, measured
 *   as an `extended_stats` over one numeric field of the window (the same aggregation the error field
 *   would need).
 * The process's peak RSS (resourceUsage().maxRSS) is printed after each size, and the classifier's CPU
 * time next to its wall time (on a loaded machine the wall time mostly measures waiting for a core).
 *
 * Usage: ES_URL=http://127.0.0.1:9250 npx tsx bench/multivariate.bench.ts   (BENCH_SIZE, BENCH_RUNS)
 */
import { resourceUsage } from 'node:process';
import { Client } from '@elastic/elasticsearch';
import { analyze } from '../src/analyzer/job.js';
import { multivariateWindow } from '../src/analyzer/multivariate.js';
import { installTemplates } from '../src/elastic/templates.js';
import { rangeQuery } from '../src/elastic/filters.js';
import { logStream } from '../src/schema/streams.js';
import { profileFromElasticsearch } from '../src/profiles/from-elasticsearch.js';
import { multivariateFromElasticsearch, sampleRows, withMultivariate } from '../src/profiles/multivariate.js';
import { WINDOW_SAMPLE_ROWS } from '../src/profiles/multivariate.js';
import type { DatasetProfile } from '../src/profiles/types.js';
import { domainClassifierDrift } from '../src/stats/multivariate/domain-classifier.js';
import { reconstructionDrift } from '../src/stats/multivariate/reconstruction.js';
import { seededRandom } from '../test/helpers/random.js';
import { indexSlot } from './index-slot.js';

const N = Number(process.env.BENCH_SIZE ?? 1_000_000);
const N_REF = 20_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NS = `benchmv${N}`;
const MODEL = 'benchmv';
const VERSION = '1';
const REF_START = Date.parse('2024-01-01T00:00:00Z');
const WIN_START = Date.parse('2024-01-02T00:00:00Z');
const DAY = 86_400_000;

async function* documents(n: number, start: number, seed: number, r: number) {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  for (let i = 0; i < n; i++) {
    const x0 = normal();
    const features: Record<string, number | string> = {
      n0: x0,
      n1: r * x0 + Math.sqrt(1 - r * r) * normal(),
    };
    for (let k = 2; k < 10; k++) features[`n${k}`] = k % 2 ? normal() : rand() * 100;
    features.c0 = `v${Math.floor(rand() * 5)}`;
    features.c1 = `v${Math.floor(rand() * rand() * 50)}`;
    yield {
      '@timestamp': new Date(start + Math.floor((i * DAY) / n)).toISOString(),
      model: { name: MODEL, version: VERSION },
      features,
      prediction: { score: 1 / (1 + Math.exp(-x0)) },
    };
  }
}

async function ensureData(client: Client): Promise<void> {
  await installTemplates(client);
  for (const [n, start, seed, r] of [
    [N_REF, REF_START, 1, 0.85],
    [N, WIN_START, 2, -0.85],
  ] as const) {
    const have = (
      await client.count({
        index: logStream('prediction', NS),
        ignore_unavailable: true,
        query: rangeQuery({ model: MODEL, version: VERSION }, new Date(start), new Date(start + DAY)),
      })
    ).count;
    await indexSlot(client, NS, n, have, documents(n, start, seed, r));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (t: bigint) => Number(t) / 1e6;

async function main(): Promise<void> {
  const client = new Client({ node: process.env.ES_URL ?? 'http://127.0.0.1:9250', requestTimeout: 600_000 });
  await ensureData(client);
  const refRange = { from: new Date(REF_START), to: new Date(REF_START + DAY) };
  const scope = { namespace: NS, model: MODEL, version: VERSION };
  const base = await profileFromElasticsearch(client, { ...scope, ...refRange });
  const t0 = process.hrtime.bigint();
  const state = await multivariateFromElasticsearch(client, base, { ...scope, ...refRange });
  const fitMs = ms(process.hrtime.bigint() - t0);
  if (!('reconstruction' in state)) throw new Error(state.reason);
  const profile: DatasetProfile = withMultivariate(base, state);
  const window = { start: new Date(WIN_START), end: new Date(WIN_START + DAY) };
  const query = rangeQuery({ model: MODEL, version: VERSION }, window.start, window.end);
  const other: number[] = [];
  const mv: number[] = [];
  const sample: number[] = [];
  const exact: number[] = [];
  const pcaCompute: number[] = [];
  const classifierCompute: number[] = [];
  const classifierCpu: number[] = [];
  let detected = '';
  for (let run = 0; run <= RUNS; run++) {
    let t = process.hrtime.bigint();
    await analyze(client, {
      ...scope,
      from: window.start,
      to: window.end,
      windowMs: DAY,
      reference: { type: 'profile', id: 'bench', profile },
      write: false,
      requestCache: false,
      multivariate: false,
    });
    const a = ms(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    const found = await multivariateWindow(client, { ...scope, window, state });
    const m = ms(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    const { rows } = await sampleRows(client, {
      ...scope,
      from: window.start,
      to: window.end,
      features: state.features,
      size: WINDOW_SAMPLE_ROWS,
    });
    const s = ms(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    reconstructionDrift(state.reconstruction, rows);
    const pc = ms(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const ref = state.domainClassifier.referenceRows;
    domainClassifierDrift(state.reconstruction.encoding, ref, rows.slice(0, ref.length));
    const dc = ms(process.hrtime.bigint() - t);
    const used = process.cpuUsage(cpu);
    const dcCpu = (used.user + used.system) / 1000;
    t = process.hrtime.bigint();
    await client.search({
      index: logStream('prediction', NS),
      size: 0,
      request_cache: false,
      query,
      aggs: { e: { extended_stats: { field: 'features.n2' } } },
    });
    const e = ms(process.hrtime.bigint() - t);
    detected = (found?.result.drift ?? [])
      .map((d) => `${d.method} ${d.value.toFixed(3)} > ${d.threshold.toFixed(3)}: ${d.detected}`)
      .join('; ');
    if (run === 0) continue; // warm-up
    other.push(a);
    mv.push(m);
    sample.push(s);
    exact.push(e);
    pcaCompute.push(pc);
    classifierCompute.push(dc);
    classifierCpu.push(dcCpu);
  }
  const o = median(other);
  const m = median(mv);
  console.log(
    JSON.stringify({
      documents: N,
      runs: RUNS,
      fit_ms: Math.round(fitMs),
      other_ms: Math.round(o),
      multivariate_ms: Math.round(m),
      ratio: Number((m / o).toFixed(3)),
      sample_search_ms: Math.round(median(sample)),
      compute_ms: Math.round(m - median(sample)),
      pca_compute_ms: Number(median(pcaCompute).toFixed(1)),
      classifier_compute_ms: Math.round(median(classifierCompute)),
      // CPU time, less sensitive than wall time to the other processes of a loaded machine
      classifier_cpu_ms: Math.round(median(classifierCpu)),
      exact_aggregation_ms: Math.round(median(exact)),
      exact_ratio: Number((median(exact) / o).toFixed(3)),
      max_rss_mib: Math.round(resourceUsage().maxRSS / 1024),
      detected,
    }),
  );
  await client.close();
}

await main();
