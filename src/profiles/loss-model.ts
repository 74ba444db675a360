/**
 * The reference period's loss model for direct loss estimation (regression; the method is in
 * stats/performance/dle.ts), fitted where the baseline's data is and stored with the baseline
 * profile (`DatasetProfile.lossModel`).
 *
 * Reading the reference rows: the trees need every labelled reference prediction's inputs next to
 * its error, and a tree cannot be fitted by an aggregation, so the rows are read — once, when the
 * baseline is built — in pages inside a point in time (`search_after`, 1,000 per page): the
 * evaluation stream's labelled predictions (`eval.error` = ŷ − y) in time order, and for each page
 * the same predictions' inputs from the prediction stream by id. Values are read as doc values
 * (`docvalue_fields`), i.e. exactly the doubles Elasticsearch indexed and later compares in the
 * window's `range` filters (a string "1.5" indexed as 1.5, a malformed value as missing), so the
 * fitted splits and the in-cluster application agree row for row. At most `maxRows` (default
 * 50,000) labelled predictions are read, the earliest of the window: the fit takes about a second
 * per 5,000 rows here and more rows barely move a mean-loss estimate.
 *
 * Inputs: the numeric model inputs (`features.*` mapped as numbers) and `prediction.value`, as
 * NannyML's DLE takes features plus the prediction. Keyword features are left out (a `range` on a
 * keyword compares strings); the model says which inputs it used.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { search, searchOrEmpty } from '../elastic/search.js';
import { streamNames } from '../schema/streams.js';
import { fitDirectLossModel, type DirectLossModel, type LossRow } from '../stats/performance/dle.js';
import type { DatasetProfile } from './types.js';
import { fieldOf } from './profile.js';
import { NUMERIC_TYPES } from '../elastic/source.js';

/** Fewest labelled reference predictions a loss model is fitted on (the same floor as calibration). */
export const MIN_LOSS_MODEL_LABELS = 200;
export const DEFAULT_LOSS_MODEL_ROWS = 50_000;
const PAGE = 1000;

/** Why a regression reference has no loss model; `message` is one line for people. */
export interface NoLossModelReason {
  reason: 'too_few_labels' | 'no_inputs';
  labelled: number;
  message: string;
}

export type ReferenceLossModel =
  { method: 'dle'; model: DirectLossModel } | ({ method: 'none' } & NoLossModelReason);

export interface ReferenceLossModelOptions {
  namespace: string;
  model: string;
  version?: string;
  from: Date;
  to: Date;
  /** input fields; default: the profile's numeric features, else the numeric `features.*` of the mapping */
  inputs?: string[];
  profile?: DatasetProfile;
  minLabelled?: number;
  maxRows?: number;
}

/** The numeric model inputs of a profile as Elasticsearch fields. */
export function profileInputs(profile: DatasetProfile): string[] {
  return Object.entries(profile.features)
    .filter(([, p]) => p.kind === 'numeric')
    .map(([name, p]) => fieldOf(name, p))
    .filter((f) => f.role === 'feature')
    .map((f) => f.field);
}

/** Numeric `features.*` fields of the prediction stream (field capabilities). */
async function mappedInputs(client: Client, index: string): Promise<string[]> {
  try {
    const caps = await client.fieldCaps({
      index,
      fields: ['features.*'],
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    return Object.entries(caps.fields)
      .filter(([, types]) => Object.keys(types).every((t) => NUMERIC_TYPES.has(t)))
      .map(([field]) => field)
      .sort();
  } catch {
    return [];
  }
}

function firstNumber(hit: estypes.SearchHit<unknown>, field: string): number | null {
  const v = hit.fields?.[field] as unknown[] | undefined;
  const x = v?.[0];
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

function scopeFilter(options: ReferenceLossModelOptions): estypes.QueryDslQueryContainer[] {
  return [
    { term: { 'model.name': options.model } },
    ...(options.version ? [{ term: { 'model.version': options.version } }] : []),
    { range: { '@timestamp': { gte: options.from.toISOString(), lt: options.to.toISOString() } } },
  ];
}

/** Labelled reference rows: inputs (doc values) and error, read as the module comment says. */
export async function referenceLossRows(
  client: Client,
  options: ReferenceLossModelOptions & { inputs: string[] },
): Promise<{ rows: LossRow[]; errors: number[] }> {
  const streams = streamNames(options.namespace);
  const maxRows = options.maxRows ?? DEFAULT_LOSS_MODEL_ROWS;
  const rows: LossRow[] = [];
  const errors: number[] = [];
  let pit: string;
  try {
    pit = (await client.openPointInTime({ index: streams.evaluation, keep_alive: '2m' })).id;
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return { rows, errors };
    throw error;
  }
  try {
    let after: estypes.SortResults | undefined;
    while (rows.length < maxRows) {
      const size = Math.min(PAGE, maxRows - rows.length);
      const page = await search(client, {
        pit: { id: pit, keep_alive: '2m' },
        query: { bool: { filter: [...scopeFilter(options), { exists: { field: 'eval.error' } }] } },
        sort: [{ '@timestamp': { order: 'asc' } }, { _shard_doc: { order: 'asc' } }],
        size,
        _source: false,
        docvalue_fields: ['eval.error'],
        track_total_hits: false,
        ...(after ? { search_after: after } : {}),
      });
      if (page.pit_id) pit = page.pit_id;
      const hits = page.hits.hits;
      if (hits.length === 0) break;
      const ids = hits.map((h) => h._id as string);
      const found = await searchOrEmpty(client, {
        index: streams.prediction,
        query: { ids: { values: ids } },
        size: ids.length,
        _source: false,
        docvalue_fields: options.inputs,
      });
      const inputsById = new Map((found?.hits.hits ?? []).map((h) => [h._id as string, h]));
      for (const h of hits) {
        const error = firstNumber(h, 'eval.error');
        const prediction = inputsById.get(h._id as string);
        if (error === null || !prediction) continue;
        rows.push(options.inputs.map((f) => firstNumber(prediction, f)));
        errors.push(error);
      }
      if (hits.length < size) break;
      after = hits[hits.length - 1]?.sort;
    }
  } finally {
    await client.closePointInTime({ id: pit }).catch(() => undefined);
  }
  return { rows, errors };
}

/**
 * The loss model of a regression reference window, or why there is none; undefined when the
 * window holds no labelled regression prediction at all (not a regressor, or no labels: nothing to
 * say).
 */
export async function referenceLossModel(
  client: Client,
  options: ReferenceLossModelOptions,
): Promise<ReferenceLossModel | undefined> {
  const streams = streamNames(options.namespace);
  const minLabelled = options.minLabelled ?? MIN_LOSS_MODEL_LABELS;
  const counted = await searchOrEmpty(client, {
    index: streams.evaluation,
    size: 0,
    track_total_hits: true,
    query: { bool: { filter: [...scopeFilter(options), { exists: { field: 'eval.error' } }] } },
  });
  const labelled =
    typeof counted?.hits.total === 'number' ? counted.hits.total : (counted?.hits.total?.value ?? 0);
  if (labelled === 0) return undefined;
  if (labelled < minLabelled) {
    return {
      method: 'none',
      reason: 'too_few_labels',
      labelled,
      message: `${labelled} labelled reference predictions, fewer than the ${minLabelled} a loss model needs: no estimated MAE/RMSE`,
    };
  }
  const features =
    options.inputs ??
    (options.profile ? profileInputs(options.profile) : await mappedInputs(client, streams.prediction));
  const inputs = [...features.filter((f) => f !== 'prediction.value'), 'prediction.value'];
  const { rows, errors } = await referenceLossRows(client, { ...options, inputs });
  if (rows.length < minLabelled) {
    return {
      method: 'none',
      reason: 'too_few_labels',
      labelled: rows.length,
      message: `${rows.length} labelled reference predictions found in the prediction stream, fewer than the ${minLabelled} a loss model needs: no estimated MAE/RMSE`,
    };
  }
  if (rows.every((r) => r.every((x) => x === null))) {
    return {
      method: 'none',
      reason: 'no_inputs',
      labelled: rows.length,
      message: `no numeric input (${inputs.join(', ')}) has a value in the reference: no estimated MAE/RMSE`,
    };
  }
  return { method: 'dle', model: fitDirectLossModel({ inputs, rows, errors }) };
}

/** The profile with the loss model (or the reason there is none); a new object. */
export function withReferenceLossModel(
  profile: DatasetProfile,
  found: ReferenceLossModel | undefined,
): DatasetProfile {
  const { lossModel: _model, noLossModel: _reason, ...rest } = profile;
  if (!found) return rest;
  if (found.method === 'dle') return { ...rest, lossModel: found.model };
  const { method: _method, ...reason } = found;
  return { ...rest, noLossModel: reason };
}

/** One line for people: what the regression estimate of this baseline will use. */
export function describeLossModel(found: ReferenceLossModel): string {
  if (found.method === 'dle') {
    const m = found.model;
    return `loss model: ${m.absolute.trees.length} + ${m.squared.trees.length} trees on ${m.inputs.length} inputs from ${m.count} labelled reference predictions (cross-fitted reference MAE ${m.absolute.reference.crossFitMean.toPrecision(4)}, realised ${m.absolute.reference.mean.toPrecision(4)})`;
  }
  return `loss model: none (${found.message})`;
}
