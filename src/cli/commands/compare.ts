/**
 * `mlmon compare --reference A --current B`: drift between two local CSV/JSONL files, no
 * Elasticsearch. KS and Wasserstein are exact on the raw non-missing values here (the analyzer's
 * Elasticsearch path uses the binned versions); PSI is over 10 reference-decile bins.
 */
import { parseArgs } from 'node:util';
import { DriftInputError } from '../../stats/drift/index.js';
import { ProfileInputError, readTable, type Cell, type Table } from '../../profiles/from-file.js';
import { compareColumns, type ColumnComparison } from '../../profiles/compare-columns.js';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const COMPARE_USAGE = `Usage: mlmon compare --reference <file> --current <file> [options]

Compare two local data sets (CSV with a header row, or JSONL) feature by feature and report drift.
No Elasticsearch needed.

Options:
  --reference <file>     reference (training) data, .csv or .jsonl
  --current <file>       current (production) data, same columns
  --categorical <a,b>    treat these columns as categorical even if every value is a number
  --exclude <a,b>        leave these columns out (e.g. an id or the target)
  --format <table|json>  output format (default table)
  -h, --help             show this help

A column is numeric when every non-empty value parses as a number in both files. A column whose
type differs between the files (text in one, numbers in the other), or whose share of non-finite
numbers (Infinity, NaN) differs, is reported as a quality finding and as drift (method
type_mismatch or non_finite), whatever the statistics of the other values say.
Missing values (empty cell, null) are left out of the statistics and reported as missing_rate
(the current file's share of missing cells).
Decision rule per feature: numeric — normalised Wasserstein >= 0.1 when both files have more than
1000 values, else Kolmogorov-Smirnov p < 0.05; categorical — Jensen-Shannon distance (base 2)
>= 0.1 when both have more than 1000 values, else chi-square p < 0.05. PSI is always reported.

Exit status: 0 when the comparison ran (whether or not drift was found), 1 on an input error
(missing, empty or unreadable file, mismatched columns), 2 on a usage error.
`;

export type CompareFeatureResult = ColumnComparison;

export interface CompareResult {
  reference: { count: number; path: string };
  current: { count: number; path: string };
  features: CompareFeatureResult[];
  drifted: number;
  drift_share: number;
}

class UsageError extends Error {}

export async function compareCommand(argv: string[], io: CommandIo): Promise<number> {
  let opts: {
    reference: string;
    current: string;
    categorical: string[];
    exclude: string[];
    format: 'json' | 'table';
  };
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        reference: { type: 'string' },
        current: { type: 'string' },
        categorical: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        format: { type: 'string', default: 'table' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (parsed.values.help) {
      io.stdout.write(COMPARE_USAGE);
      return 0;
    }
    const { reference, current, format } = parsed.values;
    if (reference === undefined) throw new UsageError('--reference <file> is required');
    if (current === undefined) throw new UsageError('--current <file> is required');
    if (format !== 'json' && format !== 'table')
      throw new UsageError(`--format must be json or table, not '${format}'`);
    opts = {
      reference,
      current,
      format,
      categorical: splitList(parsed.values.categorical),
      exclude: splitList(parsed.values.exclude),
    };
  } catch (err) {
    io.stderr.write(`mlmon compare: ${(err as Error).message}\n\n${COMPARE_USAGE}`);
    return 2;
  }

  try {
    const [ref, cur] = await Promise.all([
      readTable(opts.reference).catch((e: unknown) => Promise.reject(prefix('reference', e))),
      readTable(opts.current).catch((e: unknown) => Promise.reject(prefix('current', e))),
    ]);
    const result = compareTables(ref, cur, { categorical: opts.categorical, exclude: opts.exclude });
    io.stdout.write(opts.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderTable(result));
    return 0;
  } catch (err) {
    if (err instanceof ProfileInputError || err instanceof DriftInputError) {
      io.stderr.write(`mlmon compare: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

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

function splitList(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
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
