/**
 * The regression estimate of a window (direct loss estimation, stats/performance/dle.ts), computed
 * inside Elasticsearch.
 *
 * Why filters and not reading rows: the estimate is the window's mean predicted loss, and the loss
 * model is an additive ensemble of shallow trees, so that mean is base + Σ_trees Σ_leaves
 * value · (rows in the leaf) / n. Each leaf is a conjunction of `range` tests on the model's
 * inputs, so one `filters` aggregation per tree (8 buckets at depth 3) counts the window's rows per
 * leaf: exact, with no script, no row leaving the cluster and no sampling, whatever the window's
 * size; the cost is 2 × 50 filters aggregations in the prediction search the window runs anyway.
 * A leaf's test `x ≥ t` is `range: {gte: t}`; `x < t` is its negation (`must_not`), which also
 * holds for a missing or unindexable value — the rule the trees were fitted with. The estimate is
 * written for the model scope; segment documents carry the realised metrics only (a segment
 * breakdown would multiply the buckets by the number of segment values).
 *
 * Reliability, once ≥ 30 of the window's predictions are labelled: their realised MAE (RMSE) is
 * compared with the estimate in sampling errors of their own count; outside ± 3 is
 * `mae_outside_band` (`rmse_outside_band`): the loss at these inputs is no longer what the reference
 * said, i.e. P(y | x) moved (concept drift), which the estimate cannot see by construction. The
 * labelled predictions are compared with the whole window's estimate, so selective labelling (only
 * some kinds of rows labelled) reads as a difference too.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { sub, type Bucket } from '../elastic/aggs.js';
import { getBaseline, DEFAULT_BASELINE_ID } from '../profiles/store.js';
import { referenceLossModel } from '../profiles/loss-model.js';
import type { DatasetProfile } from '../profiles/types.js';
import {
  checkDirectLossModel,
  estimateLossWindow,
  meanFromLeafCounts,
  type DirectLossModel,
  type LossEnsemble,
  type LossLeaf,
} from '../stats/performance/dle.js';
import type { ReferenceSpec } from './job.js';

type Query = estypes.QueryDslQueryContainer;
type Aggs = Record<string, estypes.AggregationsAggregationContainer>;

const aggName = (loss: 'abs' | 'sq', tree: number): string => `dle_${loss}_${tree}`;

function leafQuery(leaf: LossLeaf, inputs: readonly string[]): Query {
  const filter: Query[] = [];
  const mustNot: Query[] = [];
  for (const [input, op, threshold] of leaf.conditions) {
    const q: Query = { range: { [inputs[input] as string]: { gte: threshold } } };
    (op === 'gte' ? filter : mustNot).push(q);
  }
  if (filter.length === 0 && mustNot.length === 0) return { match_all: {} };
  return { bool: { ...(filter.length ? { filter } : {}), ...(mustNot.length ? { must_not: mustNot } : {}) } };
}

function ensembleAggs(model: LossEnsemble, inputs: readonly string[], loss: 'abs' | 'sq'): Aggs {
  const out: Aggs = {};
  model.trees.forEach((tree, t) => {
    out[aggName(loss, t)] = {
      filters: {
        filters: Object.fromEntries(tree.leaves.map((leaf, l) => [String(l), leafQuery(leaf, inputs)])),
      },
    };
  });
  return out;
}

/** The aggregations of the prediction search that count the window's rows per leaf of every tree. */
export function lossAggregations(model: DirectLossModel): Aggs {
  return {
    ...ensembleAggs(model.absolute, model.inputs, 'abs'),
    ...ensembleAggs(model.squared, model.inputs, 'sq'),
  };
}

function leafCounts(bucket: Bucket, model: LossEnsemble, loss: 'abs' | 'sq'): number[][] {
  return model.trees.map((tree, t) => {
    const agg = sub<{ buckets: Record<string, { doc_count: number }> }>(bucket, aggName(loss, t));
    return tree.leaves.map((_, l) => agg.buckets[String(l)]?.doc_count ?? 0);
  });
}

/**
 * `performance.estimated` of a regression window: the estimate, its band and (with labels) the
 * verdict; null for an empty window. `evalBucket` holds the regression sums of the labelled rows.
 */
export function lossEstimatedFields(
  predBucket: Bucket,
  evalBucket: Bucket | undefined,
  model: DirectLossModel,
): Record<string, unknown> | null {
  const n = predBucket.doc_count;
  if (n === 0) return null;
  const value = (b: Bucket, name: string): number =>
    name in b ? (sub<{ value: number | null }>(b, name).value ?? 0) : 0;
  const e = estimateLossWindow({
    model,
    count: n,
    meanAbsLoss: meanFromLeafCounts(model.absolute, leafCounts(predBucket, model.absolute, 'abs'), n),
    meanSquaredLoss: meanFromLeafCounts(model.squared, leafCounts(predBucket, model.squared, 'sq'), n),
    ...(evalBucket && evalBucket.doc_count > 0
      ? {
          labelled: {
            count: evalBucket.doc_count,
            sumAbsError: value(evalBucket, 'abs_error'),
            sumSquaredError: value(evalBucket, 'sq_error'),
          },
        }
      : {}),
  });
  return {
    method: 'dle',
    count: e.count,
    mae: e.mae,
    rmse: e.rmse,
    mae_std_error: e.maeStdError,
    mae_lower: e.maeLower,
    mae_upper: e.maeUpper,
    rmse_std_error: e.rmseStdError,
    rmse_lower: e.rmseLower,
    rmse_upper: e.rmseUpper,
    band_sigmas: e.sigmas,
    reference_mae: e.referenceMae,
    reference_rmse: e.referenceRmse,
    reliable: e.check?.reliable ?? null,
    unreliable_reason: e.check && e.check.reasons.length > 0 ? e.check.reasons : null,
    check: e.check && {
      labelled: e.check.labelled,
      realised_mae: e.check.realisedMae,
      realised_rmse: e.check.realisedRmse,
      mae_z: e.check.maeZ,
      rmse_z: e.check.rmseZ,
    },
  };
}

/** The loss model of one version's reference, and a note when there is none. */
export interface VersionLossModel {
  lossModel?: DirectLossModel;
  note?: string;
}

export type LossModelLookup = (version: string) => Promise<VersionLossModel>;

/**
 * Per version, the loss model the reference holds: the stored baseline's, an explicit profile's,
 * or one fitted on the fly on a reference window's labels. Read once per version and run.
 */
export function lossModelLookup(
  client: Client,
  options: { namespace: string; model: string; reference: ReferenceSpec },
): LossModelLookup {
  const cache = new Map<string, Promise<VersionLossModel>>();
  const fromProfile = (version: string, profile: DatasetProfile): VersionLossModel => {
    if (profile.lossModel) {
      checkDirectLossModel(profile.lossModel);
      return { lossModel: profile.lossModel };
    }
    const why = profile.noLossModel?.message ?? 'the reference was stored without a loss model';
    return { note: `version ${version}: ${why}` };
  };
  const lookup = async (version: string): Promise<VersionLossModel> => {
    const ref = options.reference;
    if (ref.type === 'profile') return fromProfile(version, ref.profile);
    if (ref.type === 'baseline') {
      const id = ref.id ?? DEFAULT_BASELINE_ID;
      const profile = (await getBaseline(client, { model: options.model, version, id }))?.profile;
      return profile ? fromProfile(version, profile) : { note: `version ${version}: no baseline "${id}"` };
    }
    const found = await referenceLossModel(client, {
      namespace: options.namespace,
      model: options.model,
      version,
      from: ref.from,
      to: ref.to,
    });
    if (!found) return { note: `version ${version}: no labelled reference predictions` };
    return found.method === 'dle'
      ? { lossModel: found.model }
      : { note: `version ${version}: ${found.message}` };
  };
  return (version) => {
    let found = cache.get(version);
    if (!found) {
      found = lookup(version);
      cache.set(version, found);
    }
    return found;
  };
}
