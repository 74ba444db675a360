/**
 * `mlmon status`: every model of a namespace at a glance in the terminal, what a user without
 * Kibana looks at first. Read only: the newest result documents per model (drift summary,
 * model-scope performance, A/B comparison) and the newest prediction, each a small search.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { checkConnection, createClient } from '../../elastic/client.js';
import { searchOrEmpty } from '../../elastic/search.js';
import { get, num } from '../../report/gather.js';
import { comparisonRow, comparisonSentence, type ComparisonRow } from '../../report/comparison.js';
import { streamNames } from '../../schema/streams.js';
import { defineCommand, EXIT, formatOption, namespaceOption } from '../command.js';
import { type CommandIO, writeJson } from '../io.js';

type Doc = Record<string, unknown>;

/** What `status` says about one model; a figure that was not computed is null, never 0. */
export interface ModelStatus {
  model: string;
  lastPrediction: string | null;
  /** now − the newest prediction's @timestamp, in ms */
  ingestionLagMs: number | null;
  lastWindow: { start: string; end: string; count: number | null } | null;
  drift: { drifted: number; features: number; names: string[] } | null;
  performance: {
    window: string;
    version: string;
    metrics: Record<string, number>;
    bounds: Record<string, { lower?: number; upper?: number }>;
    degraded: boolean | null;
    labelCoverage: number | null;
    estimated: { accuracy: number | null; reliable: boolean | null; failed: string[] } | null;
  } | null;
  comparison: ComparisonRow | null;
}

const METRICS = ['accuracy', 'f1', 'roc_auc', 'rmse', 'mae'];

async function newest(
  client: Client,
  index: string,
  model: string,
  filter: estypes.QueryDslQueryContainer[],
) {
  const r = await searchOrEmpty(client, {
    index,
    size: 1,
    sort: [{ 'window.end': 'desc' }],
    // the newest window with predictions: a scheduler's empty last window says nothing
    query: {
      bool: {
        filter: [{ term: { 'model.name': model } }, { range: { 'window.count': { gt: 0 } } }, ...filter],
      },
    },
  });
  return (r?.hits.hits[0]?._source as Doc | undefined) ?? null;
}

export async function modelStatuses(
  client: Client,
  namespace: string,
  now = Date.now(),
): Promise<ModelStatus[]> {
  const streams = streamNames(namespace);
  const r = await searchOrEmpty(client, {
    index: streams.prediction,
    size: 0,
    aggs: {
      models: { terms: { field: 'model.name', size: 500 }, aggs: { last: { max: { field: '@timestamp' } } } },
    },
  });
  type B = { key: unknown; last: { value: number | null } };
  const models = ((r?.aggregations?.models as { buckets?: B[] } | undefined)?.buckets ?? [])
    .map((b) => ({ name: String(b.key), last: b.last.value }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const out: ModelStatus[] = [];
  for (const m of models) {
    const [summary, perf, comparison] = await Promise.all([
      newest(client, streams.drift, m.name, [{ term: { 'feature.name': '_dataset' } }]),
      newest(client, streams.performance, m.name, [{ term: { 'performance.scope': 'model' } }]),
      newest(client, streams.performance, m.name, [{ term: { 'performance.scope': 'comparison' } }]),
    ]);
    const windowOf = (d: Doc | null) =>
      d && typeof get(d, 'window.end') === 'string'
        ? {
            start: get(d, 'window.start') as string,
            end: get(d, 'window.end') as string,
            count: num(d, 'window.count'),
          }
        : null;
    const windows = [windowOf(summary), windowOf(perf), windowOf(comparison)].filter((w) => w !== null);
    const lastWindow = windows.sort((a, b) => b.end.localeCompare(a.end))[0] ?? null;
    const metrics: Record<string, number> = {};
    for (const k of METRICS) {
      const v = num(perf, `performance.${k}`);
      if (v !== null) metrics[k] = v;
    }
    const degraded = get(perf, 'performance.degraded');
    const reliable = get(perf, 'performance.estimated.reliable');
    const failed = get(perf, 'performance.estimated.failed_assumptions');
    out.push({
      model: m.name,
      lastPrediction: m.last === null ? null : new Date(m.last).toISOString(),
      ingestionLagMs: m.last === null ? null : now - m.last,
      lastWindow,
      drift: summary
        ? {
            drifted: num(summary, 'summary.drifted') ?? 0,
            features: num(summary, 'summary.features') ?? 0,
            names: (get(summary, 'summary.drifted_features') as string[] | undefined) ?? [],
          }
        : null,
      performance: perf
        ? {
            window: get(perf, 'window.end') as string,
            version: String(get(perf, 'model.version') ?? ''),
            metrics,
            bounds:
              (get(perf, 'performance.bounds') as
                Record<string, { lower?: number; upper?: number }> | undefined) ?? {},
            degraded: typeof degraded === 'boolean' ? degraded : null,
            labelCoverage: num(perf, 'performance.label_coverage'),
            estimated:
              get(perf, 'performance.estimated') === undefined
                ? null
                : {
                    accuracy: num(perf, 'performance.estimated.accuracy'),
                    reliable: typeof reliable === 'boolean' ? reliable : null,
                    failed: Array.isArray(failed) ? (failed as string[]) : [],
                  },
          }
        : null,
      comparison: comparison ? comparisonRow(comparison) : null,
    });
  }
  return out;
}

/** 90 s, 12 min, 3.5 h, 2.0 d: the ingestion lag as a person reads it. */
export function ago(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

function boundText(b: { lower?: number; upper?: number } | undefined): string {
  if (!b) return 'no bound';
  const parts = [];
  if (typeof b.lower === 'number') parts.push(`≥ ${b.lower}`);
  if (typeof b.upper === 'number') parts.push(`≤ ${b.upper}`);
  return parts.length > 0 ? `bound ${parts.join(', ')}` : 'no bound';
}

/** The lines of one model, in a fixed order (the test reads them line by line). */
export function statusLines(s: ModelStatus): string[] {
  const lines = [`model ${s.model}`];
  const w = s.lastWindow;
  lines.push(
    `  last window   ${w ? `${w.start} → ${w.end}${w.count === null ? '' : `, ${w.count} predictions`}` : 'none analyzed yet (run mlmon analyze or mlmon schedule)'}`,
  );
  lines.push(
    `  drift         ${
      s.drift
        ? s.drift.drifted > 0
          ? `${s.drift.drifted} of ${s.drift.features} features drifted: ${s.drift.names.join(', ')}`
          : `none of ${s.drift.features} features drifted`
        : 'not analyzed (no baseline?)'
    }`,
  );
  const p = s.performance;
  if (!p || Object.keys(p.metrics).length === 0)
    lines.push('  performance   no labelled predictions in the last window');
  else {
    const figures = Object.entries(p.metrics).map(
      ([k, v]) => `${k} ${v.toFixed(3)} (${boundText(p.bounds[k])})`,
    );
    lines.push(
      `  performance   version ${p.version}: ${figures.join(', ')}${p.degraded === true ? ': DEGRADED' : p.degraded === false ? ': within bounds' : ''}`,
    );
  }
  const e = p?.estimated;
  lines.push(
    `  estimate      ${
      !e || e.accuracy === null
        ? 'none'
        : `accuracy ${e.accuracy.toFixed(3)}, ${
            e.reliable === true
              ? 'reliable (the labels agree)'
              : e.reliable === false
                ? `UNRELIABLE (the labels contradict it${e.failed.length > 0 ? `: ${e.failed.join(', ')}` : ''})`
                : 'not yet checked against labels'
          }`
    }`,
  );
  lines.push(
    `  labels        ${p?.labelCoverage === null || p === null ? 'no coverage figure' : `${(p.labelCoverage * 100).toFixed(1)} % of the last window's predictions labelled`}`,
  );
  lines.push(
    `  ingestion     ${s.lastPrediction === null || s.ingestionLagMs === null ? 'no predictions' : `last prediction ${s.lastPrediction}, ${ago(s.ingestionLagMs)} ago`}`,
  );
  if (s.comparison) lines.push(`  ${comparisonSentence(s.comparison)}`);
  return lines;
}

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'every model of a namespace at a glance: last window, drift, performance, labels, lag, A/B',
  usage: ['[--namespace N] [--format table|json]'],
  description: `Reads the newest results of every model with predictions in the namespace and prints, per model:
the last analyzed window, which features drifted, realised performance against its bound, the
label-free estimate and whether the labels bore it out, label coverage, the time since the newest
prediction (ingestion lag), and the latest A/B comparison when two versions were live. Writes nothing.`,
  options: {
    namespace: namespaceOption,
    format: formatOption,
  },
  exitCodes: { 3: 'no predictions in the namespace' },
  run: async (values, io: CommandIO) => {
    const client = createClient();
    try {
      await checkConnection(client);
      const statuses = await modelStatuses(client, values.namespace);
      if (values.format === 'json') writeJson(io, { namespace: values.namespace, models: statuses });
      else {
        if (statuses.length === 0) {
          io.stderr.write(`mlmon status: no predictions in namespace ${values.namespace}\n`);
          return EXIT.nothingToAnalyze;
        }
        io.stdout.write(
          `namespace ${values.namespace}: ${statuses.length} model${statuses.length === 1 ? '' : 's'}\n`,
        );
        for (const s of statuses) io.stdout.write(`\n${statusLines(s).join('\n')}\n`);
      }
      return statuses.length === 0 ? EXIT.nothingToAnalyze : EXIT.ok;
    } finally {
      await client.close();
    }
  },
});
