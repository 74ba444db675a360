/**
 * The reference period's score calibration, fitted where the baseline's data is and stored with the
 * baseline profile (`DatasetProfile.calibration`), so that the analyzer's CBPE estimate maps later
 * scores through the map the reference labels justify (stats/performance/calibration.ts has the
 * method).
 *
 * - From a file: a score column and a label column of the reference table.
 * - From Elasticsearch: the labelled predictions of a time window, i.e. the evaluation stream (which
 *   holds a prediction's score next to its joined label), reduced inside Elasticsearch to a
 *   `histogram` of `prediction.score` (interval 0.001) with the mean score and the actual positives
 *   per bin. Each bin enters the fit as one weighted point at its mean score, so the map is the
 *   isotonic fit of the 0.001-binned data, not of every raw score: it can differ from the raw fit
 *   only where blocks change inside a bin.
 */
import type { Client } from '@elastic/elasticsearch';
import { resultStream } from '../schema/streams.js';
import {
  CalibrationInputError,
  fitIsotonicCalibration,
  type CalibrationPoint,
  type ScoreCalibration,
} from '../stats/performance/calibration.js';
import { labelKey, type Label } from '../stats/performance/index.js';
import { ProfileInputError, type Table } from './from-file.js';
import type { DatasetProfile } from './types.js';

export interface TableCalibrationOptions {
  /** column holding P(positive class) */
  score: string;
  /** column holding the actual label */
  label: string;
  /** the positive class (default '1'; `1`, `'1'`, `true` are one class) */
  positiveClass?: Label;
}

/** Isotonic calibration from a reference table's score and label columns. */
export function calibrationFromTable(table: Table, options: TableCalibrationOptions): ScoreCalibration {
  const scores = table.cells.get(options.score);
  const labels = table.cells.get(options.label);
  if (!scores) throw new ProfileInputError(`${table.path}: no score column "${options.score}"`);
  if (!labels) throw new ProfileInputError(`${table.path}: no label column "${options.label}"`);
  const positive = labelKey(options.positiveClass ?? '1');
  const points: CalibrationPoint[] = [];
  for (let i = 0; i < table.rowCount; i++) {
    const s = scores[i];
    const y = labels[i];
    if (s === null || s === undefined || s === '' || y === null || y === undefined || y === '') continue;
    const score = Number(s);
    if (!(score >= 0 && score <= 1)) {
      throw new ProfileInputError(`${table.path}: row ${i + 1}: score ${String(s)} is not a probability`);
    }
    points.push({ score, count: 1, positives: labelKey(String(y).trim()) === positive ? 1 : 0 });
  }
  if (points.length === 0) {
    throw new ProfileInputError(`${table.path}: no row has both a score and a label to calibrate on`);
  }
  return fitIsotonicCalibration(points);
}

export interface ElasticsearchCalibrationOptions {
  namespace: string;
  model: string;
  version?: string;
  from: Date;
  to: Date;
  positiveClass?: Label;
}

/** Isotonic calibration from the labelled predictions of a time window (see the module comment). */
export async function calibrationFromElasticsearch(
  client: Client,
  options: ElasticsearchCalibrationOptions,
): Promise<ScoreCalibration> {
  const positive = labelKey(options.positiveClass ?? '1');
  const index = resultStream('evaluation', options.namespace);
  const filter = [
    { term: { 'model.name': options.model } },
    ...(options.version ? [{ term: { 'model.version': options.version } }] : []),
    {
      range: {
        '@timestamp': { gte: options.from.toISOString(), lt: options.to.toISOString() },
      },
    },
    { exists: { field: 'actual.label' } },
    { exists: { field: 'prediction.score' } },
  ];
  let response;
  try {
    response = await client.search({
      index,
      size: 0,
      query: { bool: { filter } },
      aggs: {
        scores: {
          histogram: { field: 'prediction.score', interval: 0.001, min_doc_count: 1 },
          aggs: {
            mean: { avg: { field: 'prediction.score' } },
            positive: { filter: { term: { 'actual.label': positive } } },
          },
        },
      },
    });
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) {
      throw new CalibrationInputError(`no labelled predictions: ${index} does not exist`);
    }
    throw error;
  }
  const buckets =
    (
      response.aggregations?.scores as
        | {
            buckets?: Array<{
              doc_count: number;
              mean: { value: number | null };
              positive: { doc_count: number };
            }>;
          }
        | undefined
    )?.buckets ?? [];
  const points = buckets
    .filter((b) => b.doc_count > 0 && b.mean.value !== null)
    .map((b) => ({ score: b.mean.value as number, count: b.doc_count, positives: b.positive.doc_count }));
  if (points.length === 0) {
    throw new CalibrationInputError(
      `no labelled predictions with a score for model ${options.model} in ${index} between ` +
        `${options.from.toISOString()} and ${options.to.toISOString()}`,
    );
  }
  return fitIsotonicCalibration(points);
}

/** The profile with the calibration map attached (a new object; the input is left as it is). */
export function withCalibration(profile: DatasetProfile, calibration: ScoreCalibration): DatasetProfile {
  return { ...profile, calibration };
}
