/**
 * Reference data and profiles from local CSV or JSONL files (no Elasticsearch needed).
 *
 * Rules (issue 4, issue 21): a column is numeric when no non-empty value is text (`Infinity` and
 * `NaN` are numbers; a profile counts them missing), unless the caller says it is categorical
 * ({@link isNumericKind}, the one rule of baseline --file and compare); missing = empty cell (after
 * trimming), `null`, or an absent JSONL key. Raw columns are kept so that `mlmon compare` can compute KS and Wasserstein exactly;
 * `profileColumn` reduces a column to the stored profile shape.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { binCounts, meanStd, quantileEdges, sortedFinite, PSI_DEFAULT_BINS } from '../stats/drift/index.js';
import { meanAbsolute } from '../stats/importance.js';
import { CATEGORICAL_OUTPUTS } from '../schema/fields.js';
import { ATOM_MIN_SHARE, nextUp, unionEdges, type MonitoredNumericProfile } from './profile.js';
import {
  DEFAULT_FINE_BINS,
  DEFAULT_TOP_K,
  type CategoricalFeatureProfile,
  type DatasetProfile,
  type FeatureProfile,
  type NumericFeatureProfile,
  type ProfileFeatureKind,
  type ProfileOptions,
} from './types.js';

/** A cell: a string (CSV, or JSONL string), a number (JSONL), or null for missing. */
export type Cell = string | number | null;

export interface Table {
  path: string;
  format: 'csv' | 'jsonl';
  /** Column names in order of first appearance. */
  columns: string[];
  rowCount: number;
  /** Cells per column, one per row. */
  cells: Map<string, Cell[]>;
}

/**
 * Below this many rows a file's verdicts get a note (compare, baseline --file): with n values on a
 * side, the KS test at p < 0.05 needs a distance of about 1.36·sqrt(2/n) (n = 30: 0.35); with one
 * row no change can be detected at all.
 */
export const SMALL_SAMPLE_ROWS = 30;

/** Input problem with a data file; the message is meant for the user as it is. */
export class ProfileInputError extends Error {
  override name = 'ProfileInputError';
}

export function detectFormat(path: string, text: string): 'csv' | 'jsonl' {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/** Read a CSV (header row required) or JSONL file into columns. Throws {@link ProfileInputError}. */
export async function readTable(path: string, format?: 'csv' | 'jsonl'): Promise<Table> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ProfileInputError(`file not found: ${path}`);
    if (code === 'EISDIR') throw new ProfileInputError(`not a file: ${path}`);
    throw new ProfileInputError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (text.trim() === '') throw new ProfileInputError(`file is empty: ${path}`);
  const fmt = format ?? detectFormat(path, text);
  const table = fmt === 'csv' ? parseCsv(path, text) : parseJsonl(path, text);
  if (table.rowCount === 0) throw new ProfileInputError(`file has a header but no data rows: ${path}`);
  return table;
}

function parseCsv(path: string, text: string): Table {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (err) {
    throw new ProfileInputError(`cannot parse CSV ${path}: ${(err as Error).message}`);
  }
  const header = records[0];
  if (header === undefined) throw new ProfileInputError(`file is empty: ${path}`);
  const columns = header.map((h) => h.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === '') throw new ProfileInputError(`CSV ${path} has an empty column name`);
    if (seen.has(c)) throw new ProfileInputError(`CSV ${path} has the column '${c}' twice`);
    seen.add(c);
  }
  const cells = new Map<string, Cell[]>(columns.map((c) => [c, new Array<Cell>(records.length - 1)]));
  const cols = columns.map((c) => cells.get(c) as Cell[]);
  for (let r = 1; r < records.length; r++) {
    const rec = records[r] as string[];
    for (let c = 0; c < cols.length; c++) {
      const v = rec[c] ?? '';
      (cols[c] as Cell[])[r - 1] = v.trim() === '' ? null : v;
    }
  }
  return { path, format: 'csv', columns, rowCount: records.length - 1, cells };
}

function parseJsonl(path: string, text: string): Table {
  const columns: string[] = [];
  const cells = new Map<string, Cell[]>();
  let row = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new ProfileInputError(`cannot parse JSONL ${path} line ${i + 1}: ${(err as Error).message}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new ProfileInputError(`JSONL ${path} line ${i + 1} is not an object`);
    }
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      let col = cells.get(k);
      if (col === undefined) {
        col = new Array<Cell>(row).fill(null);
        cells.set(k, col);
        columns.push(k);
      }
      col[row] = toCell(v);
    }
    row++;
    for (const col of cells.values()) if (col.length < row) col.push(null);
  }
  return { path, format: 'jsonl', columns, rowCount: row, cells };
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A cell as a finite number, or undefined if it is not one. Missing cells are not asked. */
function asNumber(cell: string | number): number | undefined {
  const n = typeof cell === 'number' ? cell : Number(cell.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** What a present cell holds: a finite number, a non-finite one (`Infinity`, `-Infinity`, `NaN`), or text. */
export type CellType = 'number' | 'non-finite' | 'text';

export function cellType(cell: string | number): CellType {
  if (typeof cell === 'number') return Number.isFinite(cell) ? 'number' : 'non-finite';
  const t = cell.trim();
  const n = Number(t);
  if (Number.isFinite(n)) return 'number';
  return /^[+-]?(Infinity|inf|NaN)$/i.test(t) ? 'non-finite' : 'text';
}

/** Counts of each kind of cell in a column, and the first text cell (for messages). */
export interface ColumnTypes {
  missing: number;
  number: number;
  'non-finite': number;
  text: number;
  firstText?: string;
}

export function columnTypes(cells: readonly Cell[]): ColumnTypes {
  const out: ColumnTypes = { missing: 0, number: 0, 'non-finite': 0, text: 0 };
  for (const c of cells) {
    if (c === null) {
      out.missing++;
      continue;
    }
    const type = cellType(c);
    out[type]++;
    if (type === 'text' && out.firstText === undefined) out.firstText = String(c);
  }
  return out;
}

/** The finite values of a column of numbers (in row order), the missing cells and the non-finite ones. */
export function finiteValues(cells: readonly Cell[]): {
  values: Float64Array;
  missing: number;
  nonFinite: number;
} {
  const values = new Float64Array(cells.length);
  let n = 0;
  let missing = 0;
  let nonFinite = 0;
  for (const c of cells) {
    if (c === null) {
      missing++;
      continue;
    }
    const type = cellType(c);
    if (type === 'text') throw new ProfileInputError(`value '${c}' is not a number`);
    if (type === 'non-finite') nonFinite++;
    else values[n++] = typeof c === 'number' ? c : Number(c.trim());
  }
  return { values: values.slice(0, n), missing, nonFinite };
}

/**
 * THE rule of a column's kind, for `baseline --file` and `compare` alike (issue 21: baseline called
 * an all-NaN column categorical while compare called it numeric): numeric when no present cell of
 * any of the files is text. Non-finite numbers (`Infinity`, `NaN`) are numbers, not categories;
 * an all-missing column is numeric (vacuously). A column the user declares categorical is, always.
 */
export function isNumericKind(...columns: readonly ColumnTypes[]): boolean {
  return columns.every((t) => t.text === 0);
}

/** True when no present cell is text (see {@link isNumericKind}). */
export function isNumericColumn(cells: readonly Cell[]): boolean {
  return isNumericKind(columnTypes(cells));
}

export function columnKind(
  name: string,
  cells: readonly Cell[],
  categorical?: readonly string[],
): ProfileFeatureKind {
  if (categorical?.includes(name) || CATEGORICAL_OUTPUTS.includes(name)) return 'categorical';
  return isNumericColumn(cells) ? 'numeric' : 'categorical';
}

/**
 * The finite values of a numeric column (in row order) and the cells without one: missing, of
 * which `nonFinite` are `Infinity`/`NaN`. A profile counts non-finite values as missing because
 * that is what they are in Elasticsearch: JSON has no such numbers, so a logged NaN arrives as
 * null, and the windows compared with the profile count it missing.
 */
export function numericValues(cells: readonly Cell[]): {
  values: Float64Array;
  missing: number;
  nonFinite: number;
} {
  const values = new Float64Array(cells.length);
  let n = 0;
  let nonFinite = 0;
  for (const c of cells) {
    if (c === null) continue;
    const v = asNumber(c);
    if (v !== undefined) values[n++] = v;
    else if (cellType(c) === 'non-finite') nonFinite++;
    else throw new ProfileInputError(`value '${c}' is not a number`);
  }
  return { values: values.slice(0, n), missing: cells.length - n, nonFinite };
}

/** Category counts of a column (a number becomes its decimal string) and the number of missing cells. */
export function categoryCounts(cells: readonly Cell[]): { counts: Map<string, number>; missing: number } {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const c of cells) {
    if (c === null) {
      missing++;
      continue;
    }
    const k = typeof c === 'number' ? String(c) : c;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return { counts, missing };
}

/** Numeric profile from raw values (each side sorted once). */
export function numericProfile(
  values: ArrayLike<number>,
  missing: number,
  fineBins = DEFAULT_FINE_BINS,
): NumericFeatureProfile {
  const sorted = sortedFinite(values);
  const n = sorted.length;
  if (n === 0) return emptyNumericProfile(missing);
  const { mean, std } = meanStd(sorted);
  const psiEdges = quantileEdges(sorted, PSI_DEFAULT_BINS);
  const min = sorted[0] as number;
  const max = sorted[n - 1] as number;
  // Fine edges: percentiles, the deciles (so PSI bins nest in the fine bins), and every value
  // holding at least ATOM_MIN_SHARE of the data isolated in a bin [v, nextUp(v)), as the
  // Elasticsearch profile does. Without the atoms a frequent value shares a bin with its
  // neighbours, and the binned KS cannot see a change of its share inside that bin: the error is
  // up to the bin's whole share, far beyond 0.01. (The Elasticsearch profile also has min and
  // nextUp(max) as edges; here they are left out: that moved the binned Wasserstein of the
  // agreement test's unshifted, tied feature from 1.3 % to 2.005 % off the exact value, and the
  // window request then reads out-of-range counts from a small range of their own.)
  const atoms = atomsOf(sorted);
  const edges = unionEdges(psiEdges, quantileEdges(sorted, fineBins), atoms, atoms.map(nextUp));
  return {
    kind: 'numeric',
    count: n,
    missing,
    mean,
    std,
    min,
    max,
    psiEdges,
    psiCounts: binCounts(psiEdges, sorted),
    edges,
    counts: binCounts(edges, sorted),
  };
}

/** Values of a sorted sample that hold at least ATOM_MIN_SHARE of it (and at least two values). */
export function atomsOf(sorted: ArrayLike<number>): number[] {
  const n = sorted.length;
  const minRun = Math.max(2, Math.ceil(ATOM_MIN_SHARE * n));
  const atoms: number[] = [];
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && sorted[j] === sorted[i]) j++;
    if (j - i >= minRun) atoms.push(sorted[i] as number);
    i = j;
  }
  return atoms;
}

/** Categorical profile: top K categories by count (ties broken by name), the rest as "other". */
export function categoricalProfile(
  counts: ReadonlyMap<string, number>,
  missing: number,
  topK = DEFAULT_TOP_K,
): CategoricalFeatureProfile {
  const entries = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = entries.slice(0, topK);
  const rest = entries.slice(topK);
  let count = 0;
  for (const [, v] of entries) count += v;
  return {
    kind: 'categorical',
    count,
    missing,
    distinct: entries.length,
    categories: Object.fromEntries(kept),
    otherCount: rest.reduce((s, [, v]) => s + v, 0),
    otherCategories: rest.length,
  };
}

export function profileColumn(
  cells: readonly Cell[],
  kind: ProfileFeatureKind,
  options: { fineBins?: number; topK?: number } = {},
): FeatureProfile {
  if (kind === 'numeric') {
    const { values, missing } = numericValues(cells);
    return numericProfile(values, missing, options.fineBins);
  }
  const { counts, missing } = categoryCounts(cells);
  return categoricalProfile(counts, missing, options.topK);
}

/** Profile every column of a table (minus `exclude`). */
export function profileTable(table: Table, options: ProfileOptions = {}): DatasetProfile {
  const fineBins = options.fineBins ?? DEFAULT_FINE_BINS;
  const topK = options.topK ?? DEFAULT_TOP_K;
  const features: Record<string, FeatureProfile> = {};
  for (const name of table.columns) {
    if (options.exclude?.includes(name)) continue;
    const cells = table.cells.get(name) as Cell[];
    const profile = profileColumn(cells, columnKind(name, cells, options.categorical), { fineBins, topK });
    // An attribution column (`explanation.<feature>`) also carries the feature's importance.
    if (name.startsWith('explanation.') && profile.kind === 'numeric' && profile.count > 0) {
      (profile as MonitoredNumericProfile).meanAbsAttribution = meanAbsolute(numericValues(cells).values);
    }
    features[name] = profile;
  }
  return {
    source: { kind: 'file', path: table.path, format: table.format },
    rowCount: table.rowCount,
    createdAt: new Date().toISOString(),
    options: { fineBins, topK },
    features,
  };
}

/** Read a CSV/JSONL file and profile it. */
export async function profileFromFile(path: string, options: ProfileOptions = {}): Promise<DatasetProfile> {
  return profileTable(await readTable(path), options);
}

/** The profile of a numeric feature with no values (all missing). */
export function emptyNumericProfile(missing: number): NumericFeatureProfile {
  return {
    kind: 'numeric',
    count: 0,
    missing,
    mean: null,
    std: null,
    min: null,
    max: null,
    psiEdges: [],
    psiCounts: [],
    edges: [],
    counts: [],
  };
}
