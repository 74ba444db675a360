/**
 * A local CSV/JSONL file read as a stream into per-column summaries, for `mlmon compare` on files
 * of any size: memory is bounded by the numbers kept (8 bytes per finite value, in a Float64Array)
 * and by the distinct strings of a column, never by the text of the file. A 50 MB CSV of 1.2M rows
 * and 6 columns held as string cells took 1.38 GB (issue 21, item 5); see bench/RESULTS.md.
 *
 * Results stay exact: KS and Wasserstein need every finite value, which is what is kept. The
 * category counts of a column are kept for its text cells always, and for its numeric cells up to
 * {@link NUMERIC_COUNTS_LIMIT} distinct values; a column that turns out categorical (text in either
 * file) after that limit was passed is counted in a second pass over the file (`recount`).
 *
 * The cell rules are those of from-file.ts (`cellType`: the one rule for `baseline --file` and
 * `compare`): missing = empty after trimming, `null` or an absent JSONL key.
 *
 * csv-parse's streaming API (already the CSV parser of from-file.ts) over node:fs streams; JSONL
 * through node:readline.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { detectFormat, ProfileInputError, type ColumnTypes } from './from-file.js';

/** Distinct numeric strings counted per column before the counting stops (and a recount may follow). */
export const NUMERIC_COUNTS_LIMIT = 10_000;

/** What `compareColumns` needs of one column of one file. */
export interface ColumnData {
  /** Rows of the file (every row has a cell in every column, missing or not). */
  rows: number;
  types: ColumnTypes;
  /** The finite numbers, in row order. */
  finite: Float64Array;
  /** Counts of the present cells by their text (a JSONL number by its decimal string). */
  counts(): Map<string, number>;
}

/** A growable Float64Array (doubling), so a million numbers are 8 MB, not a million boxed cells. */
class Numbers {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

const NON_FINITE = /^\s*[+-]?(Infinity|inf|NaN)\s*$/i;

class ColumnAccumulator {
  readonly types: ColumnTypes = { missing: 0, number: 0, 'non-finite': 0, text: 0 };
  readonly numbers = new Numbers();
  /** Text and non-finite cells by their text. */
  readonly textCounts = new Map<string, number>();
  /** Numeric cells by their text, until NUMERIC_COUNTS_LIMIT distinct; undefined after. */
  numberCounts: Map<string, number> | undefined = new Map();

  constructor(
    missingBefore = 0,
    private readonly limit = NUMERIC_COUNTS_LIMIT,
  ) {
    this.types.missing = missingBefore;
  }

  add(cell: string | number | null): void {
    if (cell === null) {
      this.types.missing++;
      return;
    }
    if (typeof cell === 'number') {
      if (Number.isFinite(cell)) this.addNumber(cell, String(cell));
      else this.addOther('non-finite', String(cell));
      return;
    }
    // Number() trims the same whitespace as String#trim, so this is cellType() of from-file.ts.
    const n = Number(cell);
    if (Number.isFinite(n)) this.addNumber(n, cell);
    else this.addOther(NON_FINITE.test(cell) ? 'non-finite' : 'text', cell);
  }

  private addNumber(n: number, text: string): void {
    this.types.number++;
    this.numbers.push(n);
    const counts = this.numberCounts;
    if (counts === undefined) return;
    counts.set(text, (counts.get(text) ?? 0) + 1);
    if (counts.size > this.limit) this.numberCounts = undefined;
  }

  private addOther(type: 'non-finite' | 'text', text: string): void {
    this.types[type]++;
    if (type === 'text' && this.types.firstText === undefined) this.types.firstText = text;
    this.textCounts.set(text, (this.textCounts.get(text) ?? 0) + 1);
  }
}

export interface ReadColumnsOptions {
  /**
   * Called with the column names as soon as they are known (a CSV's header, before any row is
   * read; a JSONL file's keys at its end): throw to stop reading (e.g. the files' columns differ).
   */
  onHeader?: (columns: string[]) => void | Promise<void>;
  /** Columns not to read at all. */
  exclude?: ReadonlySet<string>;
}

async function fileFormat(path: string): Promise<'csv' | 'jsonl'> {
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new ProfileInputError(`not a file: ${path}`);
    size = s.size;
  } catch (err) {
    if (err instanceof ProfileInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ProfileInputError(`file not found: ${path}`);
    throw new ProfileInputError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (size === 0) throw new ProfileInputError(`file is empty: ${path}`);
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
    return detectFormat(
      path,
      buffer
        .subarray(0, bytesRead)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    );
  } finally {
    await handle.close();
  }
}

/** A file system or CSV error as a ProfileInputError naming the file; any other error (an onHeader's) as it is. */
function ioError(path: string, err: unknown): unknown {
  if (err instanceof ProfileInputError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return err;
  if (code === 'ENOENT') return new ProfileInputError(`file not found: ${path}`);
  if (code === 'EISDIR') return new ProfileInputError(`not a file: ${path}`);
  if (typeof code === 'string' && code.startsWith('CSV_'))
    return new ProfileInputError(`cannot parse CSV ${path}: ${(err as Error).message}`);
  return new ProfileInputError(`cannot read ${path}: ${(err as Error).message}`);
}

/** A file read by {@link readColumns}: its columns' summaries. */
export class StreamedTable {
  private readonly recounted = new Map<string, Map<string, number>>();

  constructor(
    readonly path: string,
    readonly format: 'csv' | 'jsonl',
    readonly columns: string[],
    readonly rowCount: number,
    private readonly accumulators: Map<string, ColumnAccumulator>,
  ) {}

  column(name: string): ColumnData {
    const acc = this.accumulators.get(name);
    if (acc === undefined) throw new ProfileInputError(`${this.path} has no column '${name}'`);
    return {
      rows: this.rowCount,
      types: acc.types,
      finite: acc.numbers.values(),
      counts: () => {
        if (acc.numberCounts !== undefined) return merged(acc.textCounts, acc.numberCounts);
        const again = this.recounted.get(name);
        if (again === undefined) throw new Error(`${name}: call recount() before counts()`);
        return again;
      },
    };
  }

  /** Whether the category counts of a column need {@link recount} (its numeric strings were too many). */
  needsRecount(name: string): boolean {
    return this.accumulators.get(name)?.numberCounts === undefined && !this.recounted.has(name);
  }

  /** Second pass over the file: the exact category counts of `names`. */
  async recount(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const wanted = new Set(names);
    const exclude = new Set(this.columns.filter((c) => !wanted.has(c)));
    const read = this.format === 'csv' ? readCsv : readJsonl;
    const { accumulators } = await read(this.path, exclude, undefined, true);
    for (const name of names) {
      const acc = accumulators.get(name);
      if (acc) this.recounted.set(name, merged(acc.textCounts, acc.numberCounts ?? new Map()));
    }
  }
}

/** Streams a CSV (header row required) or JSONL file into column summaries. Throws {@link ProfileInputError}. */
export async function readColumns(path: string, options: ReadColumnsOptions = {}): Promise<StreamedTable> {
  const format = await fileFormat(path);
  const read = format === 'csv' ? readCsv : readJsonl;
  const { columns, rowCount, accumulators } = await read(
    path,
    options.exclude ?? new Set(),
    options.onHeader,
  );
  if (columns.length === 0) throw new ProfileInputError(`file is empty: ${path}`);
  if (rowCount === 0) throw new ProfileInputError(`file has a header but no data rows: ${path}`);
  return new StreamedTable(path, format, columns, rowCount, accumulators);
}

function merged(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

interface ReadResult {
  columns: string[];
  rowCount: number;
  accumulators: Map<string, ColumnAccumulator>;
}

async function readCsv(
  path: string,
  exclude: ReadonlySet<string>,
  onHeader: ReadColumnsOptions['onHeader'],
  countAll = false,
): Promise<ReadResult> {
  const parser = createReadStream(path).pipe(
    parse({ bom: true, skip_empty_lines: true, relax_column_count: false }),
  );
  let columns: string[] | undefined;
  let slots: Array<ColumnAccumulator | undefined> = [];
  const accumulators = new Map<string, ColumnAccumulator>();
  let rowCount = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (columns === undefined) {
        columns = record.map((h) => h.trim());
        // A file of blank space only parses as one empty field: it is empty, not nameless.
        if (columns.length === 1 && columns[0] === '') columns = [];
        const seen = new Set<string>();
        for (const c of columns) {
          if (c === '') throw new ProfileInputError(`CSV ${path} has an empty column name`);
          if (seen.has(c)) throw new ProfileInputError(`CSV ${path} has the column '${c}' twice`);
          seen.add(c);
        }
        if (columns.length === 0) continue;
        await onHeader?.(columns);
        slots = columns.map((c) => {
          if (exclude.has(c)) return undefined;
          const acc = new ColumnAccumulator(0, countAll ? Infinity : NUMERIC_COUNTS_LIMIT);
          accumulators.set(c, acc);
          return acc;
        });
        continue;
      }
      rowCount++;
      for (let i = 0; i < slots.length; i++) {
        const acc = slots[i];
        if (acc === undefined) continue;
        const v = record[i] as string;
        acc.add(v.trim() === '' ? null : v);
      }
    }
  } catch (err) {
    parser.destroy();
    throw ioError(path, err);
  }
  return { columns: columns ?? [], rowCount, accumulators };
}

function toCell(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

async function readJsonl(
  path: string,
  exclude: ReadonlySet<string>,
  onHeader: ReadColumnsOptions['onHeader'],
  countAll = false,
): Promise<ReadResult> {
  const columns: string[] = [];
  const accumulators = new Map<string, ColumnAccumulator>();
  const ignored = new Set<string>();
  let rowCount = 0;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = raw.replace(/^\uFEFF/, '').trim();
      if (line === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new ProfileInputError(`cannot parse JSONL ${path} line ${lineNo}: ${(err as Error).message}`);
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
        throw new ProfileInputError(`JSONL ${path} line ${lineNo} is not an object`);
      const seen = new Set<string>();
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        seen.add(k);
        let acc = accumulators.get(k);
        if (acc === undefined) {
          if (!ignored.has(k) && !columns.includes(k)) columns.push(k);
          if (exclude.has(k)) {
            ignored.add(k);
            continue;
          }
          // An absent key is a missing cell: the rows before the key first appeared.
          acc = new ColumnAccumulator(rowCount, countAll ? Infinity : NUMERIC_COUNTS_LIMIT);
          accumulators.set(k, acc);
        }
        acc.add(toCell(v));
      }
      for (const [k, acc] of accumulators) if (!seen.has(k)) acc.add(null);
      rowCount++;
    }
  } catch (err) {
    lines.close();
    throw ioError(path, err);
  }
  if (columns.length > 0) await onHeader?.(columns);
  return { columns, rowCount, accumulators };
}
