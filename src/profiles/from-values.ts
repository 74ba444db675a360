/**
 * A reference profile from values in memory, computed exactly (no I/O): the offline twin of
 * `from-elasticsearch.ts`. Quantiles are numpy-linear (`quantileEdges`), counts exact; so a profile
 * built here and stored as a baseline gives the Elasticsearch path exactly the bins the offline
 * statistics use.
 */
import { binCounts, meanStd, quantileEdges, sortedFinite } from '../stats/drift/index.js';
import {
  ATOM_MIN_SHARE,
  DEFAULT_TOP_CATEGORIES,
  FINE_BINS,
  OTHER_CATEGORY,
  PROFILE_FORMAT,
  PSI_BINS,
  fineBinEdges,
  type CategoricalFieldProfile,
  type FieldProfile,
  type FieldRole,
  type NumericFieldProfile,
  type ProfileSource,
  type ReferenceProfile,
} from './profile.js';

export interface ColumnValues {
  name: string;
  field: string;
  role: FieldRole;
  kind: 'numeric' | 'categorical';
  /** One entry per row; null or undefined is missing. Numeric columns ignore non-finite values (counted missing). */
  values: ReadonlyArray<number | string | null | undefined>;
}

export function numericFieldProfile(
  column: Omit<ColumnValues, 'kind'>,
  options: { fineBins?: number } = {},
): NumericFieldProfile {
  const present: number[] = [];
  for (const v of column.values) {
    const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(x)) present.push(x);
  }
  const base = {
    name: column.name,
    field: column.field,
    role: column.role,
    missing: column.values.length - present.length,
  };
  if (present.length === 0) {
    return {
      ...base,
      kind: 'numeric',
      count: 0,
      mean: 0,
      std: 0,
      min: 0,
      max: 0,
      deciles: [],
      binEdges: [],
      binCounts: [0],
    };
  }
  const sorted = sortedFinite(present, column.name);
  const { mean, std } = meanStd(sorted);
  const min = sorted[0] as number;
  const max = sorted[sorted.length - 1] as number;
  const deciles = quantileEdges(sorted, PSI_BINS);
  const percentiles = quantileEdges(sorted, options.fineBins ?? FINE_BINS);
  const binEdges = fineBinEdges(deciles, percentiles, min, max, atomsOfSorted(sorted));
  return {
    ...base,
    kind: 'numeric',
    count: sorted.length,
    mean,
    std,
    min,
    max,
    deciles,
    binEdges,
    binCounts: binCounts(binEdges, sorted),
  };
}

/** Values that hold at least ATOM_MIN_SHARE of a sorted sample (runs of equal values). */
export function atomsOfSorted(sorted: ArrayLike<number>): number[] {
  const atoms: number[] = [];
  const minRun = Math.max(2, Math.ceil(ATOM_MIN_SHARE * sorted.length));
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i === sorted.length || sorted[i] !== sorted[start]) {
      if (i - start >= minRun) atoms.push(sorted[start] as number);
      start = i;
    }
  }
  return atoms;
}

export function categoricalFieldProfile(
  column: Omit<ColumnValues, 'kind'>,
  options: { topCategories?: number } = {},
): CategoricalFieldProfile {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const v of column.values) {
    if (v === null || v === undefined || v === '') {
      missing++;
      continue;
    }
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return categoriesProfile(column, counts, missing, options.topCategories ?? DEFAULT_TOP_CATEGORIES);
}

/** Keep the `top` most frequent categories (ties by name, as Elasticsearch `terms` orders them); the rest is `other`. */
export function categoriesProfile(
  column: { name: string; field: string; role: FieldRole },
  counts: ReadonlyMap<string, number>,
  missing: number,
  top: number,
): CategoricalFieldProfile {
  const entries = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = entries.slice(0, top);
  const other = entries.slice(top).reduce((s, [, c]) => s + c, 0);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  return {
    name: column.name,
    field: column.field,
    role: column.role,
    kind: 'categorical',
    count: total,
    missing,
    categories: Object.fromEntries(kept),
    other,
    truncated: entries.length > top,
  };
}

/** A whole profile from columns of equal length. */
export function profileFromColumns(
  columns: readonly ColumnValues[],
  source: ProfileSource = { type: 'values' },
  options: { fineBins?: number; topCategories?: number } = {},
): ReferenceProfile {
  const count = columns.reduce((m, c) => Math.max(m, c.values.length), 0);
  const fields: FieldProfile[] = columns.map((c) =>
    c.kind === 'numeric' ? numericFieldProfile(c, options) : categoricalFieldProfile(c, options),
  );
  return { format: PROFILE_FORMAT, count, source, fields };
}

/** Category counts of a profile entry as a map, with the truncated remainder under OTHER_CATEGORY. */
export function categoryCountsOf(profile: CategoricalFieldProfile): Map<string, number> {
  const m = new Map(Object.entries(profile.categories));
  if (profile.other > 0) m.set(OTHER_CATEGORY, profile.other);
  return m;
}
