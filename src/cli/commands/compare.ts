/**
 * `mlmon compare --reference A --current B`: drift between two local CSV/JSONL files, no
 * Elasticsearch. KS and Wasserstein are exact on the raw non-missing values here (the analyzer's
 * Elasticsearch path uses the binned versions); PSI is over 10 reference-decile bins.
 */
import {
  isNumericKind,
  ProfileInputError,
  SMALL_SAMPLE_ROWS,
  type Cell,
  type Table,
} from '../../profiles/from-file.js';
import { readColumns, type ColumnData, type StreamedTable } from '../../profiles/column-stream.js';
import { cellsColumn, compareColumns, type ColumnComparison } from '../../profiles/compare-columns.js';
import { commaList, defineCommand, EXIT, formatOption, UsageError } from '../command.js';

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
    const options = { categorical: values.categorical.flat(), exclude: values.exclude.flat() };
    const [ref, cur] = await readBoth(values.reference, values.current, options);
    await recountWhereNeeded(ref, cur, options);
    const result = compareTables(ref, cur, options);
    io.stdout.write(values.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderTable(result));
    for (const [which, t] of [
      ['reference', ref],
      ['current file', cur],
    ] as const)
      if (t.rowCount < SMALL_SAMPLE_ROWS)
        io.stderr.write(
          `note: the ${which} has ${t.rowCount} row${t.rowCount === 1 ? '' : 's'}: below ${SMALL_SAMPLE_ROWS} values the tests see only large changes, so "no drift" says little\n`,
        );
    return EXIT.ok;
  },
});

/** What `compareTables` reads of a file: its columns and each column's summary. */
export interface ColumnSource {
  path: string;
  columns: string[];
  rowCount: number;
  column(name: string): ColumnData;
}

/** A table read whole (`readTable`) as a {@link ColumnSource}. */
export function tableSource(table: Table): ColumnSource {
  return { ...table, column: (name) => cellsColumn(table.cells.get(name) as Cell[]) };
}

interface CompareOptions {
  categorical?: readonly string[];
  exclude?: readonly string[];
}

/**
 * The columns to compare, or the error that stops the comparison: different columns, an
 * --exclude or --categorical naming no column, nothing left after --exclude.
 */
export function comparedColumns(
  refColumns: string[],
  curColumns: string[],
  options: CompareOptions,
): string[] {
  const exclude = new Set(options.exclude ?? []);
  const known = new Set([...refColumns, ...curColumns]);
  const unknownExclude = [...exclude].filter((c) => !known.has(c));
  if (unknownExclude.length > 0)
    throw new UsageError(`--exclude names no column of the files: ${unknownExclude.join(', ')}`);
  const refCols = refColumns.filter((c) => !exclude.has(c));
  const curCols = new Set(curColumns.filter((c) => !exclude.has(c)));
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
  if (refCols.length === 0)
    throw new UsageError(`--exclude leaves no column to compare (the files have ${refColumns.join(', ')})`);
  const unknownCategorical = (options.categorical ?? []).filter((c) => !refCols.includes(c));
  if (unknownCategorical.length > 0)
    throw new UsageError(
      `--categorical names no compared column: ${unknownCategorical.join(', ')}${unknownCategorical.some((c) => exclude.has(c)) ? ' (excluded)' : ''}`,
    );
  return refCols;
}

/**
 * Streams both files. The columns are checked as soon as both headers are read (a CSV's first
 * row), before the rows: files with different columns fail at once, not after a 50 MB read.
 */
async function readBoth(
  refPath: string,
  curPath: string,
  options: CompareOptions,
): Promise<[StreamedTable, StreamedTable]> {
  const headers = { reference: deferred<string[]>(), current: deferred<string[]>() };
  // An error of the columns' check is about both files: not prefixed with the side that saw it.
  const ofBoth = new WeakSet<object>();
  const checked = Promise.all([headers.reference.promise, headers.current.promise]).then(([r, c]) => {
    try {
      return comparedColumns(r, c, options);
    } catch (error) {
      ofBoth.add(error as object);
      throw error;
    }
  });
  checked.catch(() => undefined);
  const exclude = new Set(options.exclude ?? []);
  const read = (which: 'reference' | 'current', path: string) =>
    readColumns(path, {
      exclude,
      onHeader: async (columns) => {
        headers[which].resolve(columns);
        await checked;
      },
    }).catch((e: unknown) => {
      headers[which].reject(e);
      return Promise.reject(ofBoth.has(e as object) ? e : prefix(which, e));
    });
  return Promise.all([read('reference', refPath), read('current', curPath)]);
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A column compared as categorical (text in either file, or --categorical) whose numeric strings
 * were too many to count on the way gets its exact counts from a second pass over that file.
 */
async function recountWhereNeeded(
  ref: StreamedTable,
  cur: StreamedTable,
  options: CompareOptions,
): Promise<void> {
  const columns = comparedColumns(ref.columns, cur.columns, options);
  const categorical = new Set(options.categorical ?? []);
  const needed = columns.filter(
    (c) => categorical.has(c) || !isNumericKind(ref.column(c).types, cur.column(c).types),
  );
  await Promise.all([
    ref.recount(needed.filter((c) => ref.needsRecount(c))),
    cur.recount(needed.filter((c) => cur.needsRecount(c))),
  ]);
}

/** Compare two files already read (exported for tests and the bench). */
export function compareTables(
  ref: ColumnSource,
  cur: ColumnSource,
  options: CompareOptions = {},
): CompareResult {
  const columns = comparedColumns(ref.columns, cur.columns, options);
  const categorical = new Set(options.categorical ?? []);
  const features = columns.map((name) =>
    compareColumns(name, ref.column(name), cur.column(name), categorical.has(name)),
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
