/**
 * What each part of the analyzer's window requests costs: the request of `windowAggregations` for the
 * benchmark window, sent with parts removed or replaced, `took` per variant (median of BENCH_RUNS,
 * default 3, request cache off, variants interleaved so that machine load hits all alike).
 * Needs the data of `bench/analyzer.bench.ts` (run it once first).
 *
 * Usage: ES_URL=http://127.0.0.1:9250 npx tsx bench/analyzer-parts.bench.ts   (BENCH_SIZE as there)
 */
import { Client } from '@elastic/elasticsearch';
import { asAggs, type AggRequest } from '../src/elastic/aggs.js';
import { conceptAggregations, windowAggregations } from '../src/analyzer/window-request.js';
import { rangeQuery } from '../src/elastic/filters.js';
import { monitoredFields } from '../src/elastic/source.js';
import { logStream } from '../src/schema/streams.js';
import { getBaseline } from '../src/profiles/store.js';

const N = Number(process.env.BENCH_SIZE ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NS = `bench${N}`;
const WIN_START = Date.parse('2024-01-02T00:00:00Z');
const DAY = 86_400_000;

type Variant = (aggs: AggRequest) => AggRequest;

/** Keep the aggregations whose name passes `keep`. */
const only =
  (keep: (name: string) => boolean): Variant =>
  (aggs) =>
    Object.fromEntries(Object.entries(aggs).filter(([k]) => keep(k)));

/** Map each numeric fine-bin `range` (r*) through `f`. */
const mapRanges =
  (f: (range: Record<string, unknown>) => Record<string, unknown>): Variant =>
  (aggs) =>
    Object.fromEntries(
      Object.entries(aggs).map(([k, v]) => [k, /^r\d+$/.test(k) ? f(v as Record<string, unknown>) : v]),
    );

const withoutSub =
  (...names: string[]): Variant =>
  (aggs) =>
    mapRanges((r) => {
      const subs = { ...(r.aggs as Record<string, unknown>) };
      for (const n of names) delete subs[n];
      const { aggs: _dropped, ...rest } = r;
      return Object.keys(subs).length > 0 ? { ...rest, aggs: subs } : rest;
    })(aggs);

async function main(): Promise<void> {
  const client = new Client({ node: process.env.ES_URL ?? 'http://127.0.0.1:9250', requestTimeout: 600_000 });
  const stored = await getBaseline(client, { model: 'bench', version: '1', id: 'bench', namespace: NS });
  if (!stored) throw new Error('no baseline: run bench/analyzer.bench.ts first');
  const from = new Date(WIN_START);
  const to = new Date(WIN_START + DAY);
  const fields = await monitoredFields(client, NS, { from, to });
  const plan = windowAggregations(stored.profile, fields, { matrixStats: false });
  const query = rangeQuery({ model: 'bench', version: '1' }, from, to);
  const concept = conceptAggregations(plan);
  const ranges = only((k) => /^r\d+$/.test(k));
  const variants: Record<string, Variant> = {
    'window request (drift + quality)': (a) => a,
    'numeric ranges only (r*)': ranges,
    'r* without missing sentinel': (a) =>
      mapRanges((r) => {
        const { missing: _m, ...range } = r.range as Record<string, unknown>;
        return { ...r, range };
      })(ranges(a)),
    'r* without per-bin extended_stats': (a) => withoutSub('x')(ranges(a)),
    'r* with every other edge (~52 bins)': (a) =>
      mapRanges((r) => {
        const range = r.range as { ranges: Array<{ from?: number; to?: number }> };
        const kept = range.ranges.filter((_, k) => k % 2 === 0);
        const merged = kept.map((x, k) => ({
          ...(x.from !== undefined ? { from: x.from } : {}),
          ...(k < kept.length - 1 ? { to: kept[k + 1]?.from } : {}),
        }));
        return { ...r, range: { ...range, ranges: merged } };
      })(ranges(a)),
    'r* with 3 bins, no sub-aggregation': (a) =>
      mapRanges((r) => {
        const { aggs: _s, ...rest } = r;
        return {
          ...rest,
          range: { ...(r.range as object), ranges: [{ to: 0 }, { from: 0, to: 1 }, { from: 1 }] },
        };
      })(ranges(a)),
    'extended_stats per numeric field, nothing else': (a) =>
      Object.fromEntries(
        Object.entries(ranges(a)).map(([k, r]) => [
          k,
          { extended_stats: { field: (r as { range: { field: string } }).range.field } },
        ]),
      ),
    'categorical terms only (k*, u*)': only((k) => /^[ku]\d+$/.test(k)),
    'concept request, unsampled': () => concept,
    'concept request, random_sampler p=0.1': () => ({
      sample: { random_sampler: { probability: 0.1, seed: 42 }, aggs: concept },
    }),
    'match count only (no aggregations)': () => ({}),
  };
  const took = new Map<string, number[]>(Object.keys(variants).map((k) => [k, []]));
  for (let run = 0; run <= RUNS; run++) {
    for (const [name, variant] of Object.entries(variants)) {
      const r = await client.search({
        index: logStream('prediction', NS),
        size: 0,
        track_total_hits: true,
        request_cache: false,
        query,
        aggs: asAggs(variant(plan.aggs)),
      });
      if (run > 0) took.get(name)?.push(r.took); // run 0 warms the page cache
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const full = median(took.get('window request (drift + quality)') ?? []);
  for (const [name, xs] of took) {
    console.log(
      `${name.padEnd(48)} took median ${String(median(xs)).padStart(6)} ms (${(median(xs) / full).toFixed(2)} of the window request), min ${Math.min(...xs)} ms; runs ${xs.join(' / ')}`,
    );
  }
  await client.close();
}

await main();
