/**
 * `mlmon compare --reference A --current B`: drift between two local CSV/JSONL files, no
 * Elasticsearch. KS and Wasserstein are exact on the raw non-missing values here (the analyzer's
 * Elasticsearch path uses the binned versions); PSI is over 10 reference-decile bins.
 */
import { ProfileInputError, readTable, type Cell, type Table } from '../../profiles/from-file.js';
import { compareColumns, type ColumnComparison } from '../../profiles/compare-columns.js';
import { commaList, defineCommand, EXIT, formatOption } from '../command.js';

export type CompareFeatureResult = ColumnComparison;

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
  notes: `A column is numeric when every non-empty value parses as a number in both files. A column whose
type differs between the files (text in one, numbers in the other), or whose share of non-finite
numbers (Infinity, NaN) differs, is reported as a quality finding and as drift (method
type_mismatch or non_finite), whatever the statistics of the other values say.
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
    compareColumns(name, ref.cells.get(name) as Cell[], cur.cells.get(name) as Cell[], categorical.has(name)),
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
  for (const f of result.features) for (const q of f.findings ?? []) out.push(`quality: ${f.name}: ${q}`);
  for (const f of result.features) if (f.note !== undefined) out.push(`note: ${f.name}: ${f.note}`);
  return `${out.join('\n')}\n`;
}
