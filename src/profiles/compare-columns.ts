/**
 * One column of two local data sets compared: the drift verdict of `mlmon compare`, exact on the
 * raw values (KS and Wasserstein on every value; the Elasticsearch path uses binned versions).
 *
 * Messy input gets a verdict, never a quiet "no drift" (issue 12, item 3):
 * - a column that holds text in one file and numbers in the other has changed type: a quality
 *   finding and drift (method `type_mismatch`), even where the chi-square test on all-unique
 *   values would say p ≈ 0.5;
 * - non-finite numbers (`Infinity`, `NaN`) are numbers, not categories: the statistics use the
 *   finite values, and a share of non-finite values that differs between the files is a quality
 *   finding and drift (method `non_finite`).
 */
import {
  categoricalDrift,
  numericDrift,
  type DriftMethod,
  type DriftSeverity,
} from '../stats/drift/index.js';
import type { ColumnData } from './column-stream.js';
import {
  categoryCounts,
  columnTypes,
  finiteValues,
  isNumericKind,
  type Cell,
  type ColumnTypes,
} from './from-file.js';

export interface ColumnComparison {
  name: string;
  kind: 'numeric' | 'categorical';
  missing_rate: number;
  reference_missing_rate: number;
  stats: Record<string, number | null>;
  /** The statistic behind the verdict; `type_mismatch` and `non_finite` override the statistics. */
  method: DriftMethod | 'type_mismatch' | 'non_finite' | null;
  score: number | null;
  threshold: number | null;
  drift: boolean;
  severity: DriftSeverity;
  /** Data-quality findings, one line each (type change, non-finite values). */
  findings?: string[];
  /** Share of the present values that are non-finite numbers, current and reference (numeric columns). */
  non_finite_rate?: number;
  reference_non_finite_rate?: number;
  /** Why no statistic could be computed (e.g. every value missing on one side). */
  note?: string;
}

const present = (t: ColumnTypes) => t.number + t['non-finite'] + t.text;

function describe(t: ColumnTypes): string {
  return t.text === 0 ? 'numbers' : t.number + t['non-finite'] === 0 ? 'text' : 'numbers and text';
}

/** A column held as cells (a table read whole by `readTable`) as the summary `compareColumns` takes. */
export function cellsColumn(cells: readonly Cell[]): ColumnData {
  return {
    rows: cells.length,
    types: columnTypes(cells),
    // Asked only of a numeric column (finiteValues refuses text).
    get finite() {
      return finiteValues(cells).values;
    },
    counts: () => categoryCounts(cells).counts,
  };
}

export function compareColumns(
  name: string,
  ref: ColumnData,
  cur: ColumnData,
  forceCategorical: boolean,
): ColumnComparison {
  const refTypes = ref.types;
  const curTypes = cur.types;
  const rates = {
    missing_rate: curTypes.missing / cur.rows,
    reference_missing_rate: refTypes.missing / ref.rows,
  };
  const numeric = !forceCategorical && isNumericKind(refTypes, curTypes);
  const kind = numeric ? ('numeric' as const) : ('categorical' as const);
  const empty = emptyNote(present(refTypes), present(curTypes));
  if (empty !== undefined) return { name, kind, ...rates, ...noStats(empty) };

  if (numeric) {
    const r = { values: ref.finite, nonFinite: refTypes['non-finite'] };
    const c = { values: cur.finite, nonFinite: curTypes['non-finite'] };
    const refShare = r.nonFinite / present(refTypes);
    const curShare = c.nonFinite / present(curTypes);
    const shares = { non_finite_rate: curShare, reference_non_finite_rate: refShare };
    const findings: string[] = [];
    if (r.nonFinite > 0 || c.nonFinite > 0)
      findings.push(
        `non-finite numbers (Infinity, NaN): ${pct(curShare)} of the current values, ${pct(refShare)} of the reference's`,
      );
    const finiteEmpty = emptyNote(r.values.length, c.values.length);
    const result: ColumnComparison =
      finiteEmpty !== undefined
        ? {
            name,
            kind,
            ...rates,
            ...shares,
            ...noStats(finiteEmpty.replace('missing', 'missing or non-finite')),
          }
        : { name, kind, ...rates, ...shares, ...numericVerdict(r.values, c.values) };
    if (findings.length > 0) result.findings = findings;
    if (curShare !== refShare) {
      const change = Math.abs(curShare - refShare);
      return {
        ...result,
        method: 'non_finite',
        score: change,
        threshold: 0,
        drift: true,
        severity: change >= 0.1 ? 'high' : change >= 0.01 ? 'medium' : 'low',
      };
    }
    return result;
  }

  const r = { counts: ref.counts() };
  const c = { counts: cur.counts() };
  const { stats, decision } = categoricalDrift(r.counts, c.counts);
  let unseen = 0;
  for (const [k, v] of c.counts) if (!r.counts.has(k)) unseen += v;
  const result: ColumnComparison = {
    name,
    kind,
    ...rates,
    stats: {
      js: stats.js,
      chi2: stats.chi2,
      chi2_pvalue: stats.chi2_pvalue,
      psi: stats.psi,
      unseen_category_rate: unseen / present(curTypes),
    },
    method: decision.method,
    score: decision.score,
    threshold: decision.threshold,
    drift: decision.detected,
    severity: decision.severity,
  };
  // Text on one side only (unless the caller declared the column categorical): the type changed.
  const refText = refTypes.text > 0;
  const curText = curTypes.text > 0;
  if (!forceCategorical && refText !== curText) {
    const side = refText ? refTypes : curTypes;
    const share = side.text / present(side);
    return {
      ...result,
      findings: [
        `type differs: the reference holds ${describe(refTypes)}, the current file ${describe(curTypes)} (e.g. '${side.firstText}' in the ${refText ? 'reference' : 'current file'})`,
      ],
      method: 'type_mismatch',
      score: share,
      threshold: 0,
      drift: true,
      severity: 'high',
    };
  }
  return result;
}

function numericVerdict(ref: Float64Array, cur: Float64Array) {
  const { stats, decision } = numericDrift(ref, cur);
  return {
    stats: {
      psi: stats.psi,
      ks: stats.ks,
      ks_pvalue: stats.ks_pvalue,
      wasserstein: stats.wasserstein,
      wasserstein_distance: stats.wasserstein_distance,
      mean_shift_z: Number.isFinite(stats.mean_shift_z) ? stats.mean_shift_z : null,
    },
    method: decision.method,
    score: decision.score,
    threshold: decision.threshold,
    drift: decision.detected,
    severity: decision.severity,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function emptyNote(refValues: number, curValues: number): string | undefined {
  if (refValues === 0 && curValues === 0) return 'every value is missing in both files';
  if (refValues === 0) return 'every value is missing in the reference';
  if (curValues === 0) return 'every value is missing in the current file';
  return undefined;
}

function noStats(note: string) {
  return {
    stats: {},
    method: null,
    score: null,
    threshold: null,
    drift: false,
    severity: 'none' as const,
    note,
  };
}
