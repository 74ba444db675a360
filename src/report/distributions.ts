/**
 * Reference versus period distribution of one feature, from the bins the analyzer stored in its
 * drift results (`drift.bins`: label, order, reference share, window share). The same for every
 * kind of reference (a stored baseline or a reference window): the chart shows exactly what the
 * drift decision compared, with the labels the analyzer wrote (src/schema/bins.ts), and costs no
 * request beyond the drift documents the report reads anyway. Pure: documents in, typed data out.
 */
import { OTHER_CATEGORY } from '../profiles/profile.js';
import type { FeatureDistribution } from './types.js';

type Doc = Record<string, unknown>;

/** Label of the categories outside the reference's list. Not a plausible category value. */
export const OTHER_LABEL = '(other)';

interface StoredBin {
  order: number;
  label: string;
  reference: number;
  current: number;
}

function storedBins(doc: Doc): StoredBin[] | undefined {
  const bins = (doc.drift as Doc | undefined)?.bins;
  if (!Array.isArray(bins) || bins.length === 0) return undefined;
  const out: StoredBin[] = [];
  for (const b of bins as unknown[]) {
    const { order, label, reference, current } = (b ?? {}) as Record<string, unknown>;
    if (typeof label !== 'string' || typeof reference !== 'number' || typeof current !== 'number')
      return undefined;
    out.push({ order: typeof order === 'number' ? order : out.length, label, reference, current });
  }
  return out.sort((a, b) => a.order - b.order);
}

const referenceOf = (d: Doc) => (d.reference ?? {}) as { id?: unknown; type?: unknown; count?: unknown };
const countOf = (d: Doc) => (typeof d.feature_count === 'number' ? d.feature_count : 0);

/**
 * The distribution of `feature` (model version `version`) over the period whose drift documents
 * are `docs` (oldest first, any features). The reference side is the reference's shares; the
 * period side is the windows' shares weighted by each window's count of values (`feature_count`),
 * which over the same bins is the share of the whole period's values. Only the windows compared
 * with the latest window's reference count (a reference replaced inside the period has other bins).
 * Numeric: the reference decile bins. Categorical: the reference's categories, and `(other)` for
 * every category outside them (new ones, and the tail of a truncated reference list).
 * A string says why there is none.
 */
export function distributionFromBins(
  docs: readonly Doc[],
  version: string,
  feature: string,
): FeatureDistribution | string {
  const mine = docs.filter((d) => {
    const model = (d.model ?? {}) as Doc;
    return String(model.version ?? '') === version && ((d.feature ?? {}) as Doc).name === feature;
  });
  const withBins = mine.filter((d) => storedBins(d) !== undefined);
  const latest = withBins[withBins.length - 1];
  if (!latest)
    return mine.length === 0
      ? `No reference distribution for ${feature}: no drift results in this period.`
      : `No reference distribution for ${feature}: its drift results carry no bins (analysed by an mlmon before 0.2); analyse the period again to draw it.`;
  const refId = referenceOf(latest).id;
  const windows = withBins.filter((d) => referenceOf(d).id === refId);
  const kind = ((latest.feature ?? {}) as Doc).kind === 'categorical' ? 'categorical' : 'numeric';
  const referenceBins = storedBins(latest) as StoredBin[];

  // The report's bins: numeric ones as stored; categorical ones the reference's named categories.
  const labels =
    kind === 'numeric'
      ? referenceBins.map((b) => b.label)
      : [
          ...referenceBins.filter((b) => b.reference > 0 && b.label !== OTHER_CATEGORY).map((b) => b.label),
          OTHER_LABEL,
        ];
  const slot = new Map(labels.map((l, i) => [l, i]));
  const slotOf = (label: string) => slot.get(label) ?? (kind === 'categorical' ? labels.length - 1 : -1);

  const reference = labels.map(() => 0);
  for (const b of referenceBins) {
    const i = slotOf(b.label);
    if (i >= 0) reference[i] = (reference[i] as number) + b.reference;
  }
  const current = labels.map(() => 0);
  let currentCount = 0;
  for (const d of windows) {
    const n = countOf(d);
    currentCount += n;
    for (const b of storedBins(d) as StoredBin[]) {
      const i = slotOf(b.label);
      if (i >= 0) current[i] = (current[i] as number) + n * b.current;
    }
  }
  const refCount = referenceOf(latest).count;
  return {
    version,
    feature,
    kind,
    bins: labels,
    reference,
    current: current.map((c) => (currentCount > 0 ? c / currentCount : 0)),
    referenceCount: typeof refCount === 'number' ? refCount : 0,
    currentCount,
    referenceType: typeof referenceOf(latest).type === 'string' ? (referenceOf(latest).type as string) : null,
    windows: windows.length,
  };
}
