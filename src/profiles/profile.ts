/**
 * A reference profile: what the analyzer compares each window with. One entry per monitored field
 * (model inputs, outputs, target, explanations). Numeric entries keep their bins as
 * (edges, exact counts) so that every binned statistic (PSI, KS, Wasserstein) can be computed from
 * an Elasticsearch `range` aggregation over the same edges; categorical entries keep category counts.
 *
 * Built from a time window in Elasticsearch (`from-elasticsearch.ts`) or from values in memory
 * (`from-values.ts`); both produce this one shape so the analyzer does not care where it came from.
 */

/** Format of the stored profile; bump when the shape changes incompatibly. */
export const PROFILE_FORMAT = 1;

/** Which part of a prediction document a field belongs to. */
export type FieldRole = 'feature' | 'prediction' | 'target' | 'explanation';
export type ValueKind = 'numeric' | 'categorical';

interface FieldProfileBase {
  /** Name in results: the feature name for `features.<name>`, else the full field (`prediction.score`). */
  name: string;
  /** Elasticsearch field, e.g. `features.amount`. */
  field: string;
  role: FieldRole;
  /** Documents with a value. */
  count: number;
  /** Documents without a value (or with one that could not be indexed in this type). */
  missing: number;
}

export interface NumericFieldProfile extends FieldProfileBase {
  kind: 'numeric';
  mean: number;
  /** Population standard deviation (ddof 0). */
  std: number;
  min: number;
  max: number;
  /** The 9 inner decile cut points PSI bins on (may repeat when the data have ties). */
  deciles: number[];
  /**
   * Sorted, distinct inner cut points of the fine bins: the deciles, the 99 percentiles, the minimum,
   * and for every value holding at least {@link ATOM_MIN_SHARE} of the data (an atom) the value and
   * the next double above it, so that an atom sits alone in its own bin; and the next double above the
   * maximum, so that the first and the last bin hold exactly the out-of-range values.
   * Bin i is [binEdges[i−1], binEdges[i]) with −∞ and +∞ outside: the convention of `binIndex` and
   * of an Elasticsearch `range` aggregation (`from` inclusive, `to` exclusive).
   */
  binEdges: number[];
  /** Exact reference counts per fine bin (length binEdges.length + 1). */
  binCounts: number[];
  /** Pearson correlation with the model output, for the concept-drift signal. */
  outputCorrelation?: { field: string; value: number; method: string };
}

export interface CategoricalFieldProfile extends FieldProfileBase {
  kind: 'categorical';
  /** Category → count, most frequent first, at most `topK` of them. */
  categories: Record<string, number>;
  /** Count of values outside the kept categories (0 unless the category list was truncated). */
  other: number;
  /** True when there were more categories than kept: "unseen" in a window is then an upper bound. */
  truncated: boolean;
}

export type FieldProfile = NumericFieldProfile | CategoricalFieldProfile;

export interface ProfileSource {
  type: 'elasticsearch' | 'file' | 'values';
  path?: string;
  namespace?: string;
  from?: string;
  to?: string;
}

export interface ReferenceProfile {
  format: typeof PROFILE_FORMAT;
  /** Documents (rows) in the reference data. */
  count: number;
  source: ProfileSource;
  fields: FieldProfile[];
}

/** Share of the data a single value must hold to get a bin of its own (an atom). */
export const ATOM_MIN_SHARE = 0.005;
/** Fine bins per numeric field (percentiles): bounds the binned KS error by ≈ 1/FINE_BINS. */
export const FINE_BINS = 100;
/** Decile bins for PSI (DESIGN.md). */
export const PSI_BINS = 10;
/** Categories kept per categorical field in a profile. */
export const DEFAULT_TOP_CATEGORIES = 1000;

/** Key under which a truncated category list keeps the rest. Not a plausible category value. */
export const OTHER_CATEGORY = '\u0000other';

/** The next double above x (x itself for ±Infinity and NaN): an exclusive lower bound as an inclusive one. */
export function nextUp(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/** Sorted distinct union of cut points, NaN and infinities dropped. */
export function unionEdges(...lists: ReadonlyArray<readonly number[]>): number[] {
  const all = lists.flat().filter((x) => Number.isFinite(x));
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const x of all) if (out.length === 0 || x !== out[out.length - 1]) out.push(x);
  return out;
}

/** The fine bin edges for a numeric field, from its deciles, percentiles, extremes and atoms. */
export function fineBinEdges(
  deciles: readonly number[],
  percentiles: readonly number[],
  min: number,
  max: number,
  atoms: readonly number[],
): number[] {
  return unionEdges(deciles, percentiles, [min, nextUp(max)], atoms, atoms.map(nextUp));
}

/**
 * Sum fine-bin counts into the decile bins. Every decile is one of the fine edges, so each fine bin
 * lies inside exactly one decile bin: the one its left edge falls in.
 */
export function decileCounts(
  deciles: readonly number[],
  binEdges: readonly number[],
  counts: readonly number[],
): number[] {
  const out = new Array<number>(deciles.length + 1).fill(0);
  for (let j = 0; j < counts.length; j++) {
    const left = j === 0 ? -Infinity : (binEdges[j - 1] as number);
    let d = 0;
    while (d < deciles.length && (deciles[d] as number) <= left) d++;
    out[d] = (out[d] as number) + (counts[j] as number);
  }
  return out;
}

/** Results and profiles must be JSON: map a non-finite number to null. */
export function finiteOrNull(x: number | undefined | null): number | null {
  return x === undefined || x === null || !Number.isFinite(x) ? null : x;
}
