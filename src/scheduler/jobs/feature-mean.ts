/**
 * `feature-mean`: a small, real window job that ships with the scheduler. For every numeric
 * feature of the model's predictions in the window it computes count, mean and standard deviation
 * with one `extended_stats` aggregation per feature (inside Elasticsearch), and writes one result
 * document per model version and feature into `metrics-mlmon.drift-{namespace}`.
 *
 * When a reference `{ mean, std }` is configured for a feature, the drift score is the
 * standardized mean difference |mean − ref.mean| / ref.std, detected at `threshold` (default 0.5).
 * It is a coarse detector — the drift engine's job (`drift`) does the real statistics — but it
 * needs no baseline profile, so it is useful as a smoke test of a deployment and for the tests of
 * the scheduler itself.
 *
 * Options (`jobs: [{ name: feature-mean, options: { … } }]`):
 *   features?: string[]                         default: every numeric `features.*` field
 *   reference?: { [feature]: { mean, std } }
 *   threshold?: number                          default 0.5
 */
import { rangeQuery } from '../../elastic/filters.js';
import { NUMERIC_TYPES } from '../../elastic/source.js';
import { upsertIntoDataStream } from '../../elastic/upsert.js';
import { resultId } from '../../schema/result-document.js';
import { logStream, resultStream } from '../../schema/streams.js';
import type { estypes } from '@elastic/elasticsearch';
import type { ResultDocument, ResultSummary, WindowJob, WindowJobContext } from './contract.js';

interface FeatureReference {
  mean: number;
  std: number;
}

interface FeatureMeanOptions {
  features?: string[];
  reference: Record<string, FeatureReference>;
  threshold: number;
}

function readOptions(raw: Record<string, unknown>): FeatureMeanOptions {
  const features = raw.features;
  if (features !== undefined && (!Array.isArray(features) || features.some((f) => typeof f !== 'string')))
    throw new Error('feature-mean: options.features must be a list of feature names');
  const reference: Record<string, FeatureReference> = {};
  for (const [name, ref] of Object.entries((raw.reference as Record<string, unknown> | undefined) ?? {})) {
    const r = ref as Partial<FeatureReference> | undefined;
    if (typeof r?.mean !== 'number' || typeof r?.std !== 'number' || !(r.std > 0))
      throw new Error(`feature-mean: options.reference.${name} needs numeric "mean" and a positive "std"`);
    reference[name] = { mean: r.mean, std: r.std };
  }
  const threshold = raw.threshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold > 0))
    throw new Error('feature-mean: options.threshold must be a positive number');
  return { features: features as string[] | undefined, reference, threshold };
}

/** Deterministic id, short and safe whatever the model or feature names contain. */
export function featureMeanDocumentId(
  model: string,
  version: string,
  feature: string,
  windowStart: Date,
): string {
  return resultId('feature-mean', [model, version, feature, windowStart.toISOString()]);
}

async function numericFeatures(ctx: WindowJobContext, index: string): Promise<string[]> {
  const caps = await ctx.client.fieldCaps(
    { index, fields: ['features.*'], ignore_unavailable: true, allow_no_indices: true },
    { signal: ctx.signal },
  );
  return Object.entries(caps.fields ?? {})
    .filter(([, byType]) => Object.keys(byType).some((t) => NUMERIC_TYPES.has(t)))
    .map(([field]) => field.slice('features.'.length))
    .sort();
}

interface StatsBucket {
  count: number;
  avg: number | null;
  std_deviation: number | null;
}

export const featureMeanJob: WindowJob = async (ctx) => {
  const options = readOptions(ctx.options);
  const source = logStream('prediction', ctx.namespace);
  const target = resultStream('drift', ctx.namespace);
  const features = options.features ?? (await numericFeatures(ctx, source));
  ctx.signal.throwIfAborted();
  if (features.length === 0) return { documents: [] };

  const perFeature = Object.fromEntries(
    features.map((f, i): [string, estypes.AggregationsAggregationContainer] => [
      `f${i}`,
      { extended_stats: { field: `features.${f}` } },
    ]),
  );
  const response = await ctx.client.search(
    {
      index: source,
      size: 0,
      ignore_unavailable: true,
      allow_no_indices: true,
      query: rangeQuery(
        { model: ctx.model.name, version: ctx.model.version },
        ctx.window.start,
        ctx.window.end,
      ),
      aggs: { versions: { terms: { field: 'model.version', size: 1000, missing: '' }, aggs: perFeature } },
    },
    { signal: ctx.signal },
  );
  ctx.signal.throwIfAborted();

  const buckets =
    (response.aggregations?.versions as { buckets?: Array<Record<string, unknown>> } | undefined)?.buckets ??
    [];
  const documents: ResultSummary[] = [];
  for (const bucket of buckets) {
    const version = String(bucket.key);
    features.forEach((feature, i) => {
      const stats = bucket[`f${i}`] as StatsBucket | undefined;
      if (!stats || stats.count === 0 || stats.avg === null) return;
      const reference = options.reference[feature];
      const score = reference ? Math.abs(stats.avg - reference.mean) / reference.std : undefined;
      const document: ResultDocument = {
        '@timestamp': ctx.window.end.toISOString(),
        model: { name: ctx.model.name, version },
        window: {
          start: ctx.window.start.toISOString(),
          end: ctx.window.end.toISOString(),
          count: stats.count,
        },
        reference: { id: ctx.modelConfig.baseline ?? (reference ? 'config' : 'none'), type: 'mean_std' },
        feature: { name: feature, kind: 'numeric' },
        drift: {
          method: 'mean_shift',
          current_mean: stats.avg,
          current_std: stats.std_deviation ?? 0,
          ...(reference
            ? {
                reference_mean: reference.mean,
                mean_shift_z: score,
                score,
                threshold: options.threshold,
                detected: (score as number) >= options.threshold,
              }
            : {}),
        },
      };
      documents.push({
        stream: target,
        id: featureMeanDocumentId(ctx.model.name, version, feature, ctx.window.start),
        document,
      });
    });
  }
  const written = await upsertIntoDataStream(
    ctx.client,
    target,
    documents.map((d) => ({ id: d.id, document: d.document })),
  );
  if (written.failed.length > 0)
    throw new Error(
      `feature-mean: ${written.failed.length} of ${documents.length} documents not written (first: ${written.failed[0]?.reason})`,
    );
  return { documents };
};
