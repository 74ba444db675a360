/**
 * What Kibana would ask Elasticsearch for, built from mlmon's own objects, so that tests can run
 * it on real result documents:
 * - a Lens layer: the data view's index, the panel's KQL and time range as filters, the bucket
 *   columns as nested aggregations (date_histogram, terms ordered by the first metric as the
 *   column says), the metric columns as metric aggregations;
 * - an `.es-query` rule: as stack_alerts' fetch_es_query.ts + buildSortedEventsQuery build it (the
 *   stored esQuery inside a bool filter with a `@timestamp` range [dateEnd − window, dateEnd],
 *   track_total_hits, grouped by terms when groupBy is top), compared with the threshold;
 * - an `.index-threshold` rule: as its time_series_query.ts builds it (range [dateEnd − window,
 *   dateEnd), an optional terms groupAgg, a date_range dateAgg with one range, a metricAgg), with
 *   the value of the one range compared with the threshold.
 * - a Vega panel's Elasticsearch data source: as the Vega plugin's es_query_parser.ts expands it
 *   (`%context%: true` → the dashboard's filters as a bool query, `%timefield%` → a range on that
 *   field over the time picker, pushed into the bool's `must`), then the spec's own Vega-Lite
 *   transforms run by the real vega-lite compiler and vega runtime on the hits.
 * Kibana applies the group condition with a painless `bucket_selector`; the integ-test cluster has
 * no scripting, so the comparison is made here on the buckets instead (the same comparison).
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { kueryToDsl } from '../../src/kibana/kuery.js';
import type { Bucket, LensPanel, Metric } from '../../src/kibana/lens.js';
import type { Rule } from '../../src/kibana/rules.js';
import type { VegaPanel } from '../../src/kibana/vega.js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

type Aggs = Record<string, estypes.AggregationsAggregationContainer>;

function metricAgg(m: Metric): estypes.AggregationsAggregationContainer | undefined {
  const field = m.field as string;
  switch (m.op) {
    case 'count':
      return undefined;
    case 'average':
      return { avg: { field } };
    case 'max':
      return { max: { field } };
    case 'min':
      return { min: { field } };
    case 'sum':
      return { sum: { field } };
    case 'median':
      return { percentiles: { field, percents: [50] } };
    case 'percentile':
      return { percentiles: { field, percents: [m.percentile ?? 95] } };
  }
}

function bucketAgg(b: Bucket, first: Metric, inner: Aggs): estypes.AggregationsAggregationContainer {
  if (b.type === 'date')
    return { date_histogram: { field: '@timestamp', fixed_interval: '1h', min_doc_count: 1 }, aggs: inner };
  // Lens orders terms by the metric column it names (the first metric), descending.
  // Like Lens, the ordering metric is also computed at this level, so that an outer terms level
  // can be ordered by it.
  const orderAgg = metricAgg(first);
  const order = orderAgg ? { m0: 'desc' as const } : { _count: 'desc' as const };
  return {
    terms: { field: b.field, size: b.size, order },
    aggs: { ...inner, ...(orderAgg ? { m0: orderAgg } : {}) },
  };
}

export interface LensRow {
  keys: unknown[];
  values: Array<number | null>;
}

/** The search a Lens layer makes, for the documents of `index` between `from` and `to`. */
export function lensSearch(panel: LensPanel, index: string, from: Date, to: Date): estypes.SearchRequest {
  const metrics: Aggs = {};
  panel.metrics.forEach((m, i) => {
    const agg = metricAgg(m);
    if (agg) metrics[`m${i}`] = agg;
  });
  let aggs: Aggs = metrics;
  const first = panel.metrics[0] as Metric;
  if (panel.split) aggs = { split: bucketAgg(panel.split, first, aggs) };
  if (panel.x) aggs = { x: bucketAgg(panel.x, first, aggs) };
  return {
    index,
    size: 0,
    track_total_hits: true,
    query: {
      bool: {
        filter: [
          kueryToDsl(panel.query ?? ''),
          {
            range: {
              '@timestamp': {
                gte: from.toISOString(),
                lte: to.toISOString(),
                format: 'strict_date_optional_time',
              },
            },
          },
        ],
      },
    },
    aggs,
  };
}

type AggNode = Record<string, unknown> & {
  doc_count?: number;
  buckets?: AggNode[];
  key?: unknown;
  value?: number | null;
};

function metricValue(node: AggNode, m: Metric, i: number): number | null {
  if (m.op === 'count') return node.doc_count ?? null;
  const agg = node[`m${i}`] as AggNode & { values?: Record<string, number | null> };
  if (agg.values) return Object.values(agg.values)[0] ?? null;
  return agg.value ?? null;
}

/** Runs a Lens layer's search and flattens it into rows (one per leaf bucket). */
export async function runLens(
  client: Client,
  panel: LensPanel,
  index: string,
  from: Date,
  to: Date,
): Promise<LensRow[]> {
  const response = await client.search(lensSearch(panel, index, from, to));
  const root = {
    ...(response.aggregations ?? {}),
    doc_count: (response.hits.total as { value: number }).value,
  } as AggNode;
  const levels = [panel.x ? 'x' : undefined, panel.split ? 'split' : undefined].filter(
    (l): l is string => !!l,
  );
  const rows: LensRow[] = [];
  const walk = (node: AggNode, depth: number, keys: unknown[]) => {
    const level = levels[depth];
    if (level === undefined) {
      if ((node.doc_count ?? 0) > 0)
        rows.push({ keys, values: panel.metrics.map((m, i) => metricValue(node, m, i)) });
      return;
    }
    for (const b of (node[level] as AggNode).buckets ?? []) walk(b, depth + 1, [...keys, b.key]);
  };
  walk(root, 0, []);
  return rows;
}

type Comparator = (value: number, threshold: number[]) => boolean;

/** Kibana's comparators (stack_alerts common/comparator_types.ts). */
export const COMPARATORS: Record<string, Comparator> = {
  '>': (v, t) => v > (t[0] as number),
  '<': (v, t) => v < (t[0] as number),
  '>=': (v, t) => v >= (t[0] as number),
  '<=': (v, t) => v <= (t[0] as number),
  between: (v, t) => v >= (t[0] as number) && v <= (t[1] as number),
  notBetween: (v, t) => v < (t[0] as number) || v > (t[1] as number),
};

const WINDOW_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface RuleOutcome {
  /** Groups (or 'all documents') whose value met the condition: the alerts Kibana would raise. */
  alerts: Array<{ group: string; value: number }>;
  /** Every group's value, met or not. */
  values: Array<{ group: string; value: number }>;
  /** `.es-query`: hits (ungrouped) or top hits of the first group, as the message renders them. */
  hits: Array<Record<string, unknown>>;
  /** Whether grouping fell back from multi_terms to nested terms (cluster without multi_terms). */
  nestedTermsFallback?: boolean;
}

function windowStart(rule: Rule, dateEnd: Date): Date {
  const p = rule.params as { timeWindowSize: number; timeWindowUnit: string };
  return new Date(dateEnd.getTime() - p.timeWindowSize * (WINDOW_UNIT_MS[p.timeWindowUnit] as number));
}

function isUnknownAggregation(error: unknown): boolean {
  return /Unknown aggregation type \[multi_terms\]/.test(
    String((error as { message?: string }).message ?? error),
  );
}

/**
 * Runs a rule's query exactly as stored (params.esQuery, params.termField, thresholds) on `index`
 * (the rule's data streams, narrowed to the test's namespace because the shared cluster holds other
 * tests' documents) for a rule run at `dateEnd` that has no previous run.
 */
export async function runRule(
  client: Client,
  rule: Rule,
  index: string,
  dateEnd: Date,
): Promise<RuleOutcome> {
  const p = rule.params as Record<string, unknown>;
  const compare = COMPARATORS[p.thresholdComparator as string] as Comparator;
  const threshold = p.threshold as number[];
  const from = windowStart(rule, dateEnd);
  if (rule.rule_type_id === '.es-query') {
    const stored = JSON.parse(p.esQuery as string) as { query: estypes.QueryDslQueryContainer };
    const range = {
      range: {
        [p.timeField as string]: {
          gte: from.toISOString(),
          lte: dateEnd.toISOString(),
          format: 'strict_date_optional_time',
        },
      },
    };
    const query = { bool: { filter: [stored.query, range] } };
    const termField = p.termField as string | string[] | undefined;
    const size = p.size as number;
    if (p.groupBy !== 'top' || termField === undefined) {
      const r = await client.search({
        index,
        size,
        track_total_hits: true,
        query,
        sort: [{ [p.timeField as string]: { order: 'desc' } }],
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      const value = (r.hits.total as { value: number }).value;
      const all = [{ group: 'all documents', value }];
      return {
        alerts: compare(value, threshold) ? all : [],
        values: all,
        hits: r.hits.hits.map((h) => h._source as Record<string, unknown>),
      };
    }
    const fields = Array.isArray(termField) ? termField : [termField];
    const topHits = { top_hits: { size, sort: [{ [p.timeField as string]: { order: 'desc' as const } }] } };
    let groups: Array<{ group: string; value: number; hits: Array<Record<string, unknown>> }>;
    let nestedTermsFallback = false;
    type B = { key: unknown; doc_count: number; topHitsAgg: { hits: { hits: Array<{ _source: unknown }> } } };
    const sources = (b: B) => b.topHitsAgg.hits.hits.map((h) => h._source as Record<string, unknown>);
    try {
      const agg: estypes.AggregationsAggregationContainer =
        fields.length > 1
          ? {
              multi_terms: { terms: fields.map((field) => ({ field })), size: p.termSize as number },
              aggs: { topHitsAgg: topHits },
            }
          : {
              terms: { field: fields[0] as string, size: p.termSize as number },
              aggs: { topHitsAgg: topHits },
            };
      const r = await client.search({
        index,
        size: 0,
        track_total_hits: true,
        query,
        aggs: { groupAgg: agg },
      });
      groups = ((r.aggregations?.groupAgg as { buckets: B[] }).buckets ?? []).map((b) => ({
        group: Array.isArray(b.key) ? b.key.join(',') : String(b.key),
        value: b.doc_count,
        hits: sources(b),
      }));
    } catch (error) {
      if (!isUnknownAggregation(error)) throw error;
      // The same groups as multi_terms: one terms level per field, leaves keyed by the joined keys.
      nestedTermsFallback = true;
      const nest = (i: number): estypes.AggregationsAggregationContainer => ({
        terms: { field: fields[i] as string, size: p.termSize as number },
        aggs: i + 1 < fields.length ? { [`g${i + 1}`]: nest(i + 1) } : { topHitsAgg: topHits },
      });
      const r = await client.search({ index, size: 0, track_total_hits: true, query, aggs: { g0: nest(0) } });
      groups = [];
      const walk = (node: Record<string, unknown>, i: number, keys: string[]) => {
        for (const b of (node[`g${i}`] as { buckets: Array<B & Record<string, unknown>> }).buckets) {
          const k = [...keys, String(b.key)];
          if (i + 1 < fields.length) walk(b, i + 1, k);
          else groups.push({ group: k.join(','), value: b.doc_count, hits: sources(b) });
        }
      };
      walk(r.aggregations as Record<string, unknown>, 0, []);
    }
    return {
      alerts: groups.filter((g) => compare(g.value, threshold)).map(({ group, value }) => ({ group, value })),
      values: groups.map(({ group, value }) => ({ group, value })),
      hits: groups[0]?.hits ?? [],
      nestedTermsFallback,
    };
  }
  // .index-threshold
  const aggType = p.aggType as string;
  const isCount = aggType === 'count';
  const dateAgg: estypes.AggregationsAggregationContainer = {
    date_range: {
      field: p.timeField as string,
      format: 'strict_date_time',
      ranges: [{ from: from.toISOString(), to: dateEnd.toISOString() }],
    },
    ...(isCount ? {} : { aggs: { metricAgg: { [aggType]: { field: p.aggField as string } } } }),
  };
  const termField = p.groupBy === 'top' ? (p.termField as string | undefined) : undefined;
  const aggs: Aggs = termField
    ? {
        groupAgg: {
          terms: {
            field: termField,
            size: (p.termSize as number | undefined) ?? 100,
            ...(isCount
              ? {}
              : { order: { sortValueAgg: aggType === 'min' ? ('asc' as const) : ('desc' as const) } }),
          },
          aggs: {
            dateAgg,
            ...(isCount ? {} : { sortValueAgg: { [aggType]: { field: p.aggField as string } } }),
          },
        },
      }
    : { dateAgg };
  const indices = p.index as string[] | string;
  void indices; // the rule's own index pattern, narrowed to `index` (see above)
  const r = await client.search({
    index,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: {
      bool: {
        filter: [
          {
            range: {
              [p.timeField as string]: {
                gte: from.toISOString(),
                lt: dateEnd.toISOString(),
                format: 'strict_date_time',
              },
            },
          },
        ],
      },
    },
    aggs,
  });
  type DateBucket = { doc_count: number; metricAgg?: { value: number | null } };
  const valueOf = (d: { buckets: DateBucket[] }) => {
    const b = d.buckets[0];
    return (isCount ? b?.doc_count : b?.metricAgg?.value) ?? 0;
  };
  const agg = r.aggregations as Record<
    string,
    { buckets: Array<{ key: unknown; dateAgg: { buckets: DateBucket[] } }> } & { buckets: DateBucket[] }
  >;
  const values = termField
    ? agg.groupAgg!.buckets.map((b) => ({ group: String(b.key), value: valueOf(b.dateAgg) }))
    : [{ group: 'all documents', value: valueOf(agg.dateAgg as { buckets: DateBucket[] }) }];
  return { alerts: values.filter((v) => compare(v.value, threshold)), values, hits: [] };
}

/**
 * The search Kibana's Vega plugin makes for the spec's data url, on a dashboard with no filters
 * (`%context%` expands to an empty bool) and the time picker at [from, to].
 */
export function vegaSearch(panel: VegaPanel, index: string, from: Date, to: Date): estypes.SearchRequest {
  const data = (panel.spec as { data: { url: Record<string, unknown> } }).data;
  const url = structuredClone(data.url);
  const context = url['%context%'];
  const timefield = url['%timefield%'] as string | undefined;
  delete url['%context%'];
  delete url['%timefield%'];
  const body = (url.body ?? {}) as Record<string, unknown>;
  if (body.query !== undefined && (context !== undefined || timefield !== undefined))
    throw new Error('%context% and %timefield% must not be used with body.query');
  let query: estypes.QueryDslQueryContainer | undefined = body.query as estypes.QueryDslQueryContainer;
  const range = timefield
    ? {
        range: {
          [timefield]: {
            gte: from.toISOString(),
            lte: to.toISOString(),
            format: 'strict_date_optional_time',
          },
        },
      }
    : undefined;
  if (context) {
    const filters: estypes.QueryDslBoolQuery = { must: [], filter: [], should: [], must_not: [] };
    if (range) (filters.must as estypes.QueryDslQueryContainer[]).push(range);
    query = { bool: filters };
  } else if (range) query = range;
  return { ...(body as estypes.SearchRequest), index, ...(query ? { query } : {}) };
}

export interface VegaOutcome {
  /** What the data url's `format.property` picks from the response (the hits). */
  values: unknown[];
  /** The rows behind the bars vega drew (after the spec's transforms), one per bar. */
  rows: Array<Record<string, unknown>>;
  /** The chart drawn headless by vega, as SVG. */
  svg: string;
}

/** Runs a Vega panel: its search on `index`, then its own transforms and marks on the answer. */
export async function runVega(
  client: Client,
  panel: VegaPanel,
  index: string,
  from: Date,
  to: Date,
): Promise<VegaOutcome> {
  const response = (await client.search(vegaSearch(panel, index, from, to))) as unknown as Record<
    string,
    unknown
  >;
  const property = (panel.spec as { data: { format?: { property?: string } } }).data.format?.property;
  const values = (
    property
      ? property.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], response)
      : response
  ) as unknown[];
  const spec = structuredClone(panel.spec) as Record<string, unknown>;
  spec.data = { values };
  const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  await view.runAsync();
  // The bars drawn: every rect item of the scenegraph, with the row it stands for.
  const rows: Array<Record<string, unknown>> = [];
  type SceneNode = { marktype?: string; role?: string; items?: Array<SceneNode & { datum?: unknown }> };
  const walk = (node: SceneNode | undefined) => {
    if (!node) return;
    if (node.marktype === 'rect' && node.role === 'mark')
      for (const item of node.items ?? []) rows.push(item.datum as Record<string, unknown>);
    for (const item of node.items ?? []) walk(item);
  };
  walk((view.scenegraph() as unknown as { root: SceneNode }).root);
  const svg = await view.toSVG();
  view.finalize();
  return { values, rows, svg };
}
