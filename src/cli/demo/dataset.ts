/**
 * Reads one of the drift data sets (CSV with a header, rows in time order, `target` label), plain or
 * gzipped (`.gz`: the project's copies in data/ are).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';

export interface LabelledRows {
  features: string[];
  rows: number[][];
  labels: number[];
}

/** The text of a data file, gunzipped when its name ends in `.gz`. */
export function readDataText(path: string): string {
  const bytes = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

export function readLabelledCsv(path: string): LabelledRows {
  const records = parse(readDataText(path), { columns: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >;
  const first = records[0];
  if (!first) throw new Error(`${path}: no rows`);
  if (!('target' in first)) throw new Error(`${path}: no "target" column`);
  const features = Object.keys(first).filter((c) => c !== 'target');
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const [i, record] of records.entries()) {
    const row = features.map((f) => Number(record[f]));
    if (row.some((v) => !Number.isFinite(v)))
      throw new Error(`${path}: row ${i + 2} has a non-numeric feature`);
    rows.push(row);
    labels.push(Number(record.target));
  }
  return { features, rows, labels };
}
