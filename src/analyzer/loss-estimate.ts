/**
 * The regression estimate of a window (direct loss estimation, stats/performance/dle.ts), computed
 * inside Elasticsearch.
 *
 * Why aggregations and not reading rows: the estimate is the window's mean predicted loss, and the
 * loss model is an additive ensemble of shallow trees, so that mean is base + Σ_trees Σ_leaves
 * value · (rows in the leaf) / n. A tree is a nest of `range` aggregations: the root split is a
 * `range` on its input with the buckets x < t and x ≥ t (`missing` set below every threshold, so a
 * document without the value goes left, the rule the trees were fitted with), each child split a
 * `range` sub-aggregation, and a leaf's row count is the `doc_count` at the end of its path. Exact,
 * no script, no row leaving the cluster, no sampling whatever the window's size, and the cost is
 * doc-value reads of the window's own documents (7 range evaluations per document per depth-3 tree,
 * as a range aggregation runs its sub-aggregations in both buckets). A first version used one
 * `filters` aggregation per tree (each leaf a `bool` of `range` queries); Elasticsearch runs those
 * filter by filter as point queries over the whole shard, so their cost grows with the index rather
 * than the window (bench/RESULTS.md: 18× the window's other searches on a 45,000-document shard).
 * The estimate is written for the model scope; segment documents carry the realised metrics only
 * (a segment breakdown would multiply the buckets by the number of segment values).
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
  type LossCondition,
  type LossEnsemble,
  type LossLeaf,
} from '../stats/performance/dle.js';
import { oncePerVersion } from './baseline.js';
import type { ReferenceSpec } from './job.js';

type Aggs = Record<string, estypes.AggregationsAggregationContainer>;

const aggName = (loss: 'abs' | 'sq', tree: number): string => `dle_${loss}_${tree}`;

/** One direction per condition of a leaf's path from the root: `l` (x < t or missing), `r` (x ≥ t). */
const pathOf = (leaf: LossLeaf): string => leaf.conditions.map((c) => (c[1] === 'lt' ? 'l' : 'r')).join('');

/**
 * The `range` aggregation of the split at `prefix` (the path from the root) with the splits below
 * it as sub-aggregations named by their paths. A range aggregation applies its sub-aggregations to
 * both of its buckets, so each bucket also computes the other side's subtree; the reader follows
 * only its own path. `missing` sends a document without a value left, as the fit did.
 */
function splitAgg(
  leaves: readonly LossLeaf[],
  prefix: string,
  inputs: readonly string[],
): estypes.AggregationsAggregationContainer | null {
  const below = leaves.filter((l) => pathOf(l).startsWith(prefix));
  if (below.length === 0) throw new RangeError(`loss tree: no leaf below path "${prefix}"`);
  const first = below[0] as LossLeaf;
  if (below.length === 1 && first.conditions.length === prefix.length) return null;
  const [input, , threshold] = first.conditions[prefix.length] as LossCondition;
  for (const l of below) {
    const c = l.conditions[prefix.length];
    if (!c || c[0] !== input || c[2] !== threshold)
      throw new RangeError(`loss tree: leaves below path "${prefix}" disagree on the split`);
  }
  const aggs: Aggs = {};
  for (const side of ['l', 'r']) {
    const child = splitAgg(below, prefix + side, inputs);
    if (child) aggs[prefix + side] = child;
  }
  return {
    range: {
      field: inputs[input] as string,
      keyed: true,
      missing: -Number.MAX_VALUE,
      ranges: [
        { key: 'l', to: threshold },
        { key: 'r', from: threshold },
      ],
    },
    ...(Object.keys(aggs).length > 0 ? { aggs } : {}),
  };
}

function ensembleAggs(model: LossEnsemble, inputs: readonly string[], loss: 'abs' | 'sq'): Aggs {
  const out: Aggs = {};
  model.trees.forEach((tree, t) => {
    const root = splitAgg(tree.leaves, '', inputs);
    // A tree without a split (one leaf) holds every row: nothing to count.
    if (root) out[aggName(loss, t)] = root;
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

type RangeAgg = { buckets: Record<string, Bucket> };

function leafCounts(bucket: Bucket, model: LossEnsemble, loss: 'abs' | 'sq'): number[][] {
  return model.trees.map((tree, t) => {
    if (tree.leaves.length === 1) return [bucket.doc_count];
    const root = sub<RangeAgg>(bucket, aggName(loss, t));
    return tree.leaves.map((leaf) => {
      const path = pathOf(leaf);
      let agg: RangeAgg = root;
      let node: Bucket | undefined;
      for (let k = 0; k < path.length; k++) {
        node = agg.buckets[path[k] as string];
        if (!node) return 0;
        if (k < path.length - 1) agg = sub<RangeAgg>(node, path.slice(0, k + 1));
      }
      return node?.doc_count ?? 0;
    });
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
  let meanAbsLoss: number;
  let meanSquaredLoss: number;
  try {
    meanAbsLoss = meanFromLeafCounts(model.absolute, leafCounts(predBucket, model.absolute, 'abs'), n);
    meanSquaredLoss = meanFromLeafCounts(model.squared, leafCounts(predBucket, model.squared, 'sq'), n);
  } catch (error) {
    // Leaf counts that do not add up to the window (a multi-valued input lands in two buckets):
    // no estimate rather than a wrong one; the realised metrics are unaffected.
    if (error instanceof RangeError) return null;
    throw error;
  }
  const e = estimateLossWindow({
    model,
    count: n,
    meanAbsLoss,
    meanSquaredLoss,
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
      const profile = (
        await getBaseline(client, { model: options.model, version, id, namespace: options.namespace })
      )?.profile;
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
  return oncePerVersion(cache, lookup);
}
