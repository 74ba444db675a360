/**
 * `mlmon compare --reference A --current B`: drift between two local CSV/JSONL files, no
 * Elasticsearch. KS and Wasserstein are exact on the raw non-missing values here (the analyzer's
 * Elasticsearch path uses the binned versions); PSI is over 10 reference-decile bins.
 */
import {
  categoricalDrift,
  numericDrift,
  type DriftMethod,
  type DriftSeverity,
} from '../../stats/drift/index.js';
import {
  ProfileInputError,
  categoryCounts,
  isNumericColumn,
  numericValues,
  readTable,
  type Cell,
  type Table,
} from '../../profiles/from-file.js';
import { commaList, defineCommand, EXIT, formatOption } from '../command.js';

export interface CompareFeatureResult {
  name: string;
  kind: 'numeric' | 'categorical';
  missing_rate: number;
  reference_missing_rate: number;
  stats: Record<string, number | null>;
  method: DriftMethod | null;
  score: number | null;
  threshold: number | null;
  drift: boolean;
  severity: DriftSeverity;
  /** Why no statistic could be computed (e.g. every value missing on one side). */
  note?: string;
}

export interface CompareResult {
  reference: { count: number; path: string };
  current: { count: number; path: string };
  features: CompareFeatureResult[];
  drifted: number;
  drift_share: number;
}

export const compareCommand = defineCommand({
  name: 'compare',
  summary: 'drift between two local files, no Elasticsearch needed',
  usage: ['--reference <file> --current <file> [options]'],
  description: `Compare two local data sets (CSV with a header row, or JSONL) feature by feature and report drift.
No Elasticsearch needed.`,
  options: {
    reference: {
      type: 'string',
      value: '<file>',
      description: 'reference (training) data, .csv or .jsonl',
      required: true,
    },
    current: {
      type: 'string',
      value: '<file>',
      description: 'current (production) data, same columns',
      required: true,
    },
    categorical: {
      type: 'string',
      value: '<a,b>',
      description: 'treat these columns as categorical even if every value is a number',
      multiple: true,
      parse: commaList,
    },
    exclude: {
      type: 'string',
      value: '<a,b>',
      description: 'leave these columns out (e.g. an id or the target)',
      multiple: true,
      parse: commaList,
    },
    format: formatOption,
  },
  notes: `A column is numeric when every non-empty value parses as a finite number in both files.
Missing values (empty cell, null) are left out of the statistics and reported as missing_rate
(the current file's share of missing cells).
Decision rule per feature: numeric — normalised Wasserstein >= 0.1 when both files have more than
1000 values, else Kolmogorov-Smirnov p < 0.05; categorical — Jensen-Shannon distance (base 2)
>= 0.1 when both have more than 1000 values, else chi-square p < 0.05. PSI is always reported.`,
  exitCodes: {
    0: 'the comparison ran, whether or not drift was found',
    1: 'input error: missing, empty or unreadable file, mismatched columns',
  },
  run: async (values, io) => {
    const [ref, cur] = await Promise.all([
      readTable(values.reference).catch((e: unknown) => Promise.reject(prefix('reference', e))),
      readTable(values.current).catch((e: unknown) => Promise.reject(prefix('current', e))),
    ]);
    const result = compareTables(ref, cur, {
      categorical: values.categorical.flat(),
      exclude: values.exclude.flat(),
    });
    io.stdout.write(values.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderTable(result));
    return EXIT.ok;
  },
});

/** Compare two tables already read; exported for reuse (e.g. the demo) and tests. */
export function compareTables(
  ref: Table,
  cur: Table,
  options: { categorical?: readonly string[]; exclude?: readonly string[] } = {},
): CompareResult {
  const exclude = new Set(options.exclude ?? []);
  const categorical = new Set(options.categorical ?? []);
  const refCols = ref.columns.filter((c) => !exclude.has(c));
  const curCols = new Set(cur.columns.filter((c) => !exclude.has(c)));
  const onlyRef = refCols.filter((c) => !curCols.has(c));
  const onlyCur = [...curCols].filter((c) => !refCols.includes(c));
  if (onlyRef.length > 0 || onlyCur.length > 0) {
    const parts: string[] = [];
    if (onlyRef.length > 0) parts.push(`only in reference: ${onlyRef.join(', ')}`);
    if (onlyCur.length > 0) parts.push(`only in current: ${onlyCur.join(', ')}`);
    throw new ProfileInputError(
      `the files have different columns (${parts.join('; ')}); use --exclude to skip some`,
    );
  }
  for (const c of categorical) {
    if (!refCols.includes(c)) throw new ProfileInputError(`--categorical names an unknown column '${c}'`);
  }

  const features = refCols.map((name) =>
    compareFeature(name, ref.cells.get(name) as Cell[], cur.cells.get(name) as Cell[], categorical.has(name)),
  );
  const drifted = features.filter((f) => f.drift).length;
  return {
    reference: { count: ref.rowCount, path: ref.path },
    current: { count: cur.rowCount, path: cur.path },
    features,
    drifted,
    drift_share: features.length === 0 ? 0 : drifted / features.length,
  };
}

function compareFeature(
  name: string,
  refCells: Cell[],
  curCells: Cell[],
  forceCategorical: boolean,
): CompareFeatureResult {
  const numeric = !forceCategorical && isNumericColumn(refCells) && isNumericColumn(curCells);
  const base = { name, kind: numeric ? ('numeric' as const) : ('categorical' as const) };
  if (numeric) {
    const r = numericValues(refCells);
    const c = numericValues(curCells);
    const rates = missingRates(r.missing, refCells.length, c.missing, curCells.length);
    const empty = emptyNote(r.values.length, c.values.length);
    if (empty !== undefined) return { ...base, ...rates, ...noStats(empty) };
    const { stats, decision } = numericDrift(r.values, c.values);
    return {
      ...base,
      ...rates,
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
  const r = categoryCounts(refCells);
  const c = categoryCounts(curCells);
  const rates = missingRates(r.missing, refCells.length, c.missing, curCells.length);
  const empty = emptyNote(refCells.length - r.missing, curCells.length - c.missing);
  if (empty !== undefined) return { ...base, ...rates, ...noStats(empty) };
  const { stats, decision } = categoricalDrift(r.counts, c.counts);
  let unseen = 0;
  for (const [k, v] of c.counts) if (!r.counts.has(k)) unseen += v;
  return {
    ...base,
    ...rates,
    stats: {
      js: stats.js,
      chi2: stats.chi2,
      chi2_pvalue: stats.chi2_pvalue,
      psi: stats.psi,
      unseen_category_rate: unseen / (curCells.length - c.missing),
    },
    method: decision.method,
    score: decision.score,
    threshold: decision.threshold,
    drift: decision.detected,
    severity: decision.severity,
  };
}

function missingRates(refMissing: number, refRows: number, curMissing: number, curRows: number) {
  return { missing_rate: curMissing / curRows, reference_missing_rate: refMissing / refRows };
}

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

function prefix(which: string, err: unknown): unknown {
  if (err instanceof ProfileInputError) return new ProfileInputError(`${which}: ${err.message}`);
  return err;
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(2);
  return v
    .toPrecision(4)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

/** Human-readable aligned table, one row per feature, and a summary line. */
export function renderTable(result: CompareResult): string {
  const head = [
    'feature',
    'kind',
    'missing',
    'method',
    'score',
    'threshold',
    'drift',
    'severity',
    'psi',
    'ks',
    'ks_p',
    'wasserstein',
    'js',
    'chi2_p',
  ];
  const rows = result.features.map((f) => [
    f.name,
    f.kind,
    `${(f.missing_rate * 100).toFixed(1)}%`,
    f.method ?? '-',
    fmt(f.score),
    fmt(f.threshold),
    f.drift ? 'DRIFT' : f.note !== undefined ? 'n/a' : 'no',
    f.severity,
    fmt(f.stats.psi),
    fmt(f.stats.ks),
    fmt(f.stats.ks_pvalue),
    fmt(f.stats.wasserstein),
    fmt(f.stats.js),
    fmt(f.stats.chi2_pvalue),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const numericCol = (i: number) => i >= 4 && i !== 6 && i !== 7;
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numericCol(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [
    `reference: ${result.reference.path} (${result.reference.count} rows)`,
    `current:   ${result.current.path} (${result.current.count} rows)`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${result.drifted} of ${result.features.length} features drifted (${(result.drift_share * 100).toFixed(1)}%)`,
  ];
  for (const f of result.features) if (f.note !== undefined) out.push(`note: ${f.name}: ${f.note}`);
  return `${out.join('\n')}\n`;
}
