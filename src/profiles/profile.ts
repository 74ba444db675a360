/**
 * Helpers around the reference profile types of `types.ts` for the Elasticsearch path: which
 * Elasticsearch field a profile entry describes, the extras an Elasticsearch-built profile carries
 * (the output correlation for the concept-drift signal), and the fine-bin edge construction.
 *
 * Naming: `DatasetProfile.features` keys are the bare feature names for model inputs
 * (`features.<name>` in a prediction document) and the full field for everything else
 * (`prediction.score`, `actual.label`, `explanation.<name>`). A profile built from Elasticsearch
 * also records the field itself, which wins over the convention.
 */
import type { FieldRole } from '../schema/fields.js';
import { binIndex } from '../stats/drift/index.js';
import type { CategoricalFeatureProfile, FeatureProfile, NumericFeatureProfile } from './types.js';

/** What an Elasticsearch-built profile adds to a feature entry (all optional: file profiles lack them). */
export interface ElasticsearchExtras {
  /** The Elasticsearch field, e.g. `features.amount`. */
  field?: string;
  /** Pearson correlation with the model output, for the concept-drift signal. */
  outputCorrelation?: { field: string; value: number; method: string };
  /** Mean of the values in each fine bin (null when empty): makes the binned Wasserstein exact away from CDF crossings. */
  binMeans?: Array<number | null>;
  /** Explanation fields: mean |attribution| in the reference, the feature's importance. */
  meanAbsAttribution?: number;
}

export type MonitoredNumericProfile = NumericFeatureProfile & ElasticsearchExtras;
export type MonitoredCategoricalProfile = CategoricalFeatureProfile & ElasticsearchExtras;
export type MonitoredFeatureProfile = MonitoredNumericProfile | MonitoredCategoricalProfile;

const OUTPUT_PREFIXES: ReadonlyArray<[string, FieldRole]> = [
  ['prediction.', 'prediction'],
  ['actual.', 'target'],
  ['explanation.', 'explanation'],
];

/** The Elasticsearch field and role of a profile entry. */
export function fieldOf(name: string, profile?: FeatureProfile): { field: string; role: FieldRole } {
  const explicit = (profile as ElasticsearchExtras | undefined)?.field;
  const field = explicit ?? (OUTPUT_PREFIXES.some(([p]) => name.startsWith(p)) ? name : `features.${name}`);
  const role = field.startsWith('features.')
    ? 'feature'
    : (OUTPUT_PREFIXES.find(([p]) => field.startsWith(p))?.[1] ?? 'feature');
  return { field, role };
}

/** Share of the data a single value must hold to get a bin of its own (an atom). */
export const ATOM_MIN_SHARE = 0.005;

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

/** True when every value of `sub` (sorted) is one of `edges` (sorted): then bins of `edges` nest in bins of `sub`. */
export function edgesContain(edges: readonly number[], sub: readonly number[]): boolean {
  let j = 0;
  for (const x of sub) {
    while (j < edges.length && (edges[j] as number) < x) j++;
    if (j >= edges.length || edges[j] !== x) return false;
  }
  return true;
}

/** Category counts of a profile entry as a map, with the truncated remainder under OTHER_CATEGORY. */
export function categoryCountsOf(profile: CategoricalFeatureProfile): Map<string, number> {
  const m = new Map(Object.entries(profile.categories));
  if (profile.otherCount > 0) m.set(OTHER_CATEGORY, profile.otherCount);
  return m;
}

/**
 * Add per-fine-bin means to the numeric entries of a profile built from values (e.g. a file), so
 * that the binned Wasserstein distance needs no within-bin guess. `valuesOf(name)` gives a
 * column's non-missing values, or undefined to leave the entry alone.
 */
export function addBinMeans(
  features: Record<string, FeatureProfile>,
  valuesOf: (name: string) => ArrayLike<number> | undefined,
): void {
  for (const [name, p] of Object.entries(features)) {
    if (p.kind !== 'numeric' || p.count === 0) continue;
    const values = valuesOf(name);
    if (!values) continue;
    const sums = new Array<number>(p.edges.length + 1).fill(0);
    const counts = new Array<number>(p.edges.length + 1).fill(0);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) continue;
      const b = binIndex(p.edges, v);
      sums[b] = (sums[b] as number) + v;
      counts[b] = (counts[b] as number) + 1;
    }
    (p as MonitoredNumericProfile).binMeans = sums.map((s, b) =>
      (counts[b] as number) > 0 ? s / (counts[b] as number) : null,
    );
  }
}
