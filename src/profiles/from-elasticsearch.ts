/**
 * A reference profile from a time window of prediction documents, computed inside Elasticsearch
 * with aggregations only (no document leaves the cluster):
 *
 * 1. one size-0 search: per numeric field the 99 percentiles (the deciles are among them),
 *    `extended_stats`, `missing`, and a small `terms` on the value to find atoms (values holding
 *    ≥ 0.5 % of the data, which need a bin of their own); per categorical field `terms` (top K and
 *    the remainder) and `missing`;
 * 2. a second size-0 search with a `range` aggregation per numeric field over the resulting fine
 *    edges, for exact bin counts (percentiles are t-digest estimates; the counts over them are not).
 *
 * Fields and their kinds come from `_field_caps` (`features.*`, `prediction.score|value|label`,
 * `actual.label|value`, `explanation.*`). The concept-drift reference (correlation of each numeric
 * feature with the score or value) comes from `matrix_stats` when the cluster has it, else from
 * per-bin averages in the second request (see `binnedCorrelation`).
 *
 * Length: profileFromElasticsearch is over 100 lines on purpose: two requests and the reading of
 * their answers, aggregation names matched side by side.
 */
import type { Client } from '@elastic/elasticsearch';
import {
  type AggRequest,
  asAggs,
  type ExtendedStats,
  bucketKey,
  docCount,
  rangeCounts,
  rangeOverEdges,
  sub,
  termsBuckets,
  totalHits,
} from '../elastic/aggs.js';
import { capabilities } from '../elastic/capabilities.js';
import { binnedFromBuckets, matrixCorrelation } from '../elastic/correlation.js';
import { rangeQuery, type ModelSelector } from '../elastic/filters.js';
import { correlationOutput, monitoredFields } from '../elastic/source.js';
import { logStream } from '../schema/streams.js';
import { meanAbsoluteFromSignSums } from '../stats/importance.js';
import { PSI_DEFAULT_BINS } from '../stats/drift/index.js';
import { categoricalProfile, emptyNumericProfile } from './from-file.js';
import {
  ATOM_MIN_SHARE,
  decileCounts,
  fineBinEdges,
  type MonitoredFeatureProfile,
  type MonitoredNumericProfile,
} from './profile.js';
import { DEFAULT_FINE_BINS, DEFAULT_TOP_K, type DatasetProfile } from './types.js';
import { search } from '../elastic/search.js';

const FINE_BINS = DEFAULT_FINE_BINS;
const PSI_BINS = PSI_DEFAULT_BINS;

export interface ElasticsearchProfileOptions extends ModelSelector {
  namespace: string;
  from: Date;
  to: Date;
  topCategories?: number;
  /** Atoms looked for per numeric field (the most frequent values). */
  atomCandidates?: number;
}

export class NoReferenceDataError extends Error {
  override name = 'NoReferenceDataError';
}

export async function profileFromElasticsearch(
  client: Client,
  options: ElasticsearchProfileOptions,
): Promise<DatasetProfile> {
  const { namespace, from, to } = options;
  const what = `model ${options.model}${options.version !== undefined ? ` version ${options.version}` : ''} in ${logStream('prediction', namespace)} between ${from.toISOString()} and ${to.toISOString()}`;
  const fields = await monitoredFields(client, namespace, { from, to });
  if (fields.length === 0) throw new NoReferenceDataError(`No prediction documents mapped for ${what}`);
  const topK = options.topCategories ?? DEFAULT_TOP_K;
  const caps = await capabilities(client);
  const output = correlationOutput(fields);
  const numericFeatures = fields.filter((f) => f.kind === 'numeric' && f.role === 'feature');
  const query = rangeQuery(options, from, to);

  const first: AggRequest = {};
  fields.forEach((f, i) => {
    first[`m${i}`] = { missing: { field: f.field } };
    if (f.kind === 'numeric') {
      first[`p${i}`] = {
        percentiles: {
          field: f.field,
          percents: Array.from({ length: FINE_BINS - 1 }, (_, k) => ((k + 1) * 100) / FINE_BINS),
          keyed: false,
          tdigest: { compression: 200 },
        },
      };
      first[`s${i}`] = { extended_stats: { field: f.field } };
      first[`a${i}`] = { terms: { field: f.field, size: options.atomCandidates ?? 20 } };
    } else {
      first[`t${i}`] = { terms: { field: f.field, size: topK } };
    }
  });
  const useMatrix = caps.matrixStats && output !== undefined && numericFeatures.length > 0;
  if (useMatrix) first.corr = { matrix_stats: { fields: [...numericFeatures.map((f) => f.field), output] } };
  const r1 = await search(client, {
    index: logStream('prediction', namespace),
    size: 0,
    track_total_hits: true,
    query,
    aggs: asAggs(first),
  });
  const count = totalHits(r1);
  if (count === 0) throw new NoReferenceDataError(`No prediction documents for ${what}`);
  const a1 = r1.aggregations;

  // Fine edges per numeric field, then the second request for exact counts over them.
  const numeric = new Map<number, Omit<MonitoredNumericProfile, 'counts' | 'psiCounts'>>();
  const profiles: Array<MonitoredFeatureProfile | undefined> = fields.map((f, i) => {
    const missing = docCount(a1, `m${i}`);
    if (f.kind === 'categorical') {
      const t = termsBuckets(a1, `t${i}`);
      const counts = new Map(t.buckets.map((b) => [bucketKey(b), b.doc_count]));
      const p = categoricalProfile(counts, missing, topK);
      // The terms answer has the top K only: the rest is known as a count, not as categories.
      return {
        ...p,
        field: f.field,
        count: p.count + t.other,
        otherCount: t.other,
        otherCategories: t.other > 0 ? Math.max(1, p.otherCategories) : 0,
      };
    }
    const stats = sub<ExtendedStats>(a1, `s${i}`);
    if (stats.count === 0 || stats.min === null || stats.max === null) return emptyNumeric(f.field, missing);
    const pct = sub<{ values: Array<{ key: number; value: number | null }> }>(a1, `p${i}`).values.map(
      (v) => v.value as number,
    );
    // t-digest can place a percentile a hair outside [min, max]; clamp so edges stay in the data range.
    const lo = stats.min;
    const hi = stats.max;
    const clamp = (x: number): number => Math.min(hi, Math.max(lo, x));
    const step = FINE_BINS / PSI_BINS;
    const deciles = Array.from({ length: PSI_BINS - 1 }, (_, k) => clamp(pct[(k + 1) * step - 1] as number));
    const minAtom = Math.max(2, Math.ceil(ATOM_MIN_SHARE * stats.count));
    const atoms = termsBuckets(a1, `a${i}`)
      .buckets.filter((b) => b.doc_count >= minAtom)
      .map((b) => Number(b.key));
    numeric.set(i, {
      kind: 'numeric',
      field: f.field,
      count: stats.count,
      missing,
      mean: stats.avg,
      std: stats.std_deviation,
      min: lo,
      max: hi,
      psiEdges: deciles,
      edges: fineBinEdges(deciles, pct.map(clamp), lo, hi, atoms),
    });
    return undefined;
  });

  const useBinnedCorrelation = !useMatrix && output !== undefined;
  const second: AggRequest = {};
  for (const [i, p] of numeric) {
    const range = rangeOverEdges(p.field as string, p.edges);
    // Mean per bin (for the binned Wasserstein), and the output per bin for the binned correlation.
    const subAggs: AggRequest = { x: { avg: { field: p.field } } };
    if (useBinnedCorrelation && fields[i]?.role === 'feature') subAggs.y = { stats: { field: output } };
    range.aggs = subAggs;
    second[`r${i}`] = range;
    // Importance of an attribution field: mean |value| = (sum of positives − sum of negatives) / n,
    // from a range split at 0 (no scripts, so no abs() inside Elasticsearch).
    if (fields[i]?.role === 'explanation') {
      second[`ab${i}`] = {
        ...rangeOverEdges(p.field as string, [0]),
        aggs: { s: { sum: { field: p.field } } },
      };
    }
  }
  const outputStats = useBinnedCorrelation ? { ys: { extended_stats: { field: output } } } : {};
  const r2 =
    numeric.size > 0
      ? await search(client, {
          index: logStream('prediction', namespace),
          size: 0,
          query,
          aggs: asAggs({ ...second, ...outputStats }),
        })
      : undefined;
  const a2 = r2?.aggregations;
  const outputStd = useBinnedCorrelation ? (sub<ExtendedStats>(a2, 'ys').std_deviation ?? 0) : 0;
  for (const [i, p] of numeric) {
    const buckets = rangeCounts(sub(a2, `r${i}`), p.edges.length + 1);
    const counts = buckets.map((b) => b.doc_count);
    const full: MonitoredNumericProfile = {
      ...p,
      counts,
      psiCounts: decileCounts(p.psiEdges, p.edges, counts),
      binMeans: buckets.map((b) => (b.x as { value: number | null } | undefined)?.value ?? null),
    };
    if (fields[i]?.role === 'explanation') {
      const [negative, positive] = rangeCounts(sub(a2, `ab${i}`), 2).map(
        (b) => (b.s as { value: number } | undefined)?.value ?? 0,
      ) as [number, number];
      const m = meanAbsoluteFromSignSums(positive, negative, p.count);
      if (Number.isFinite(m)) full.meanAbsAttribution = m;
    }
    if (output && fields[i]?.role === 'feature') {
      const corr = useMatrix
        ? matrixCorrelation(a1, p.field as string, output)
        : binnedFromBuckets(buckets, p.std ?? 0, outputStd);
      if (Number.isFinite(corr)) {
        full.outputCorrelation = {
          field: output,
          value: corr,
          method: useMatrix ? 'matrix_stats' : 'binned',
        };
      }
    }
    profiles[i] = full;
  }
  const features: Record<string, MonitoredFeatureProfile> = {};
  fields.forEach((f, i) => {
    const p = profiles[i] as MonitoredFeatureProfile;
    // Mapped (field caps are per index, not per time range) but without a single value in the
    // reference window: not part of the reference, so a window that has it reports it as unexpected.
    if (p.missing >= count) return;
    features[f.name] = p;
  });
  return {
    source: {
      kind: 'elasticsearch',
      index: logStream('prediction', namespace),
      from: from.toISOString(),
      to: to.toISOString(),
      query,
    },
    rowCount: count,
    createdAt: new Date().toISOString(),
    options: { fineBins: FINE_BINS, topK },
    features,
  };
}

function emptyNumeric(field: string, missing: number): MonitoredNumericProfile {
  return { ...emptyNumericProfile(missing), field };
}
