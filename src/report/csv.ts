/**
 * The period's drift results as CSV (one row per result document), written with csv-stringify
 * (same family as the csv-parse the project already reads files with): quoting of commas, quotes
 * and newlines in feature names is its job. Cells that a spreadsheet would run as a formula
 * (leading = + - @, tab, carriage return) are prefixed with a quote, as OWASP advises for CSV
 * injection; numbers are written as numbers.
 */
import { stringify } from 'csv-stringify/sync';
import type { ReportData } from './types.js';

export const DRIFT_CSV_COLUMNS = [
  'model',
  'version',
  'feature',
  'kind',
  'window_start',
  'window_end',
  'window_count',
  'method',
  'score',
  'threshold',
  'detected',
  'severity',
  'psi',
  'reference_id',
] as const;

function text(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

export function driftCsv(report: ReportData): string {
  const records = report.models.flatMap(({ data }) =>
    data.drift.map((r) => [
      text(data.model),
      text(r.version),
      text(r.feature),
      r.kind,
      r.windowStart,
      r.windowEnd,
      r.windowCount,
      r.method,
      r.score,
      r.threshold,
      r.detected,
      r.severity,
      r.psi,
      r.referenceId === null ? null : text(r.referenceId),
    ]),
  );
  return stringify(records, {
    header: true,
    columns: [...DRIFT_CSV_COLUMNS],
    cast: { boolean: (b) => (b ? 'true' : 'false') },
  });
}
