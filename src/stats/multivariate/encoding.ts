/**
 * The row preparation both multivariate drift methods share, as NannyML's data reconstruction
 * calculator does it (nannyml drift/multivariate/data_reconstruction/calculator.py, commit
 * 2334fe4154c4c7e63e9dacb1ad9520b84ad91394): missing numeric values take the reference mean and
 * missing categories the reference mode; a category becomes its frequency in the reference (a
 * normalised count encoding); every column is then standardised with the reference mean and
 * population standard deviation (sklearn's StandardScaler, ddof 0; a constant column is divided by 1
 * as StandardScaler does).
 *
 * A category the reference never saw is encoded as frequency 0 (category_encoders' CountEncoder
 * with `handle_unknown='value'`, its default).
 */

/** One row as read from a document or a file: a number, a category, or missing (null/undefined). */
export type MultivariateRow = Readonly<Record<string, number | string | null | undefined>>;

export interface NumericColumnEncoding {
  name: string;
  kind: 'numeric';
  /** imputation value: the reference mean */
  impute: number;
  /** standardisation */
  mean: number;
  scale: number;
}

export interface CategoricalColumnEncoding {
  name: string;
  kind: 'categorical';
  /** imputation value: the reference's most frequent category */
  impute: string;
  /** category → share of the reference rows (after imputation) */
  frequencies: Record<string, number>;
  mean: number;
  scale: number;
}

export type ColumnEncoding = NumericColumnEncoding | CategoricalColumnEncoding;

export interface RowEncoding {
  columns: ColumnEncoding[];
}

export class MultivariateInputError extends Error {
  override name = 'MultivariateInputError';
}

const isMissing = (v: unknown): boolean =>
  v === null || v === undefined || v === '' || (typeof v === 'number' && !Number.isFinite(v));

/** Numeric value of a cell, or NaN when it is missing or not a number. */
function numberOf(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  return Number.NaN;
}

function meanStdPopulation(values: readonly number[]): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / values.length) };
}

/**
 * Fit the encoding on reference rows. `categorical` names the categorical columns; the others in
 * `columns` are numeric. Throws {@link MultivariateInputError} when a numeric column has no value.
 */
export function fitRowEncoding(
  rows: readonly MultivariateRow[],
  columns: readonly string[],
  categorical: ReadonlySet<string>,
): RowEncoding {
  if (rows.length === 0) throw new MultivariateInputError('no reference rows to fit the encoding on');
  const out: ColumnEncoding[] = [];
  for (const name of columns) {
    if (categorical.has(name)) {
      const counts = new Map<string, number>();
      let present = 0;
      for (const r of rows) {
        const v = r[name];
        if (isMissing(v)) continue;
        const key = String(v);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        present++;
      }
      if (present === 0)
        throw new MultivariateInputError(`categorical column ${name} has no value in the reference`);
      // Mode: most frequent, ties by name, so that the fit does not depend on row order.
      const mode = [...counts.entries()].sort(
        (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
      )[0]?.[0] as string;
      counts.set(mode, (counts.get(mode) ?? 0) + (rows.length - present));
      const frequencies: Record<string, number> = {};
      for (const [k, c] of counts) frequencies[k] = c / rows.length;
      const encoded = rows.map((r) => frequencies[isMissing(r[name]) ? mode : String(r[name])] ?? 0);
      const { mean, std } = meanStdPopulation(encoded);
      out.push({ name, kind: 'categorical', impute: mode, frequencies, mean, scale: std > 0 ? std : 1 });
    } else {
      const present = rows.map((r) => numberOf(r[name])).filter((v) => !Number.isNaN(v));
      if (present.length === 0)
        throw new MultivariateInputError(`numeric column ${name} has no value in the reference`);
      const impute = meanStdPopulation(present).mean;
      const imputed = rows.map((r) => {
        const v = numberOf(r[name]);
        return Number.isNaN(v) ? impute : v;
      });
      const { mean, std } = meanStdPopulation(imputed);
      out.push({ name, kind: 'numeric', impute, mean, scale: std > 0 ? std : 1 });
    }
  }
  return { columns: out };
}

/** One row imputed, encoded and standardised: a vector in the encoding's column order. */
export function encodeRow(encoding: RowEncoding, row: MultivariateRow): number[] {
  return encoding.columns.map((c) => {
    const v = row[c.name];
    let x: number;
    if (c.kind === 'numeric') {
      const n = numberOf(v);
      x = Number.isNaN(n) ? c.impute : n;
    } else {
      x = c.frequencies[isMissing(v) ? c.impute : String(v)] ?? 0;
    }
    return (x - c.mean) / c.scale;
  });
}

export function encodeRows(encoding: RowEncoding, rows: readonly MultivariateRow[]): number[][] {
  return rows.map((r) => encodeRow(encoding, r));
}
