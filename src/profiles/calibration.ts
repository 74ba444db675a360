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
import { searchOrEmpty } from '../elastic/search.js';
import { probabilityClasses } from '../elastic/source.js';
import { resultStream } from '../schema/streams.js';
import {
  CalibrationInputError,
  type CalibrationMode,
  fitIsotonicCalibration,
  type CalibrationPoint,
  type ScoreCalibration,
} from '../stats/performance/calibration.js';
import { crossFitCalibration, type CrossFit } from '../stats/performance/calibration-crossfit.js';
import {
  summariseCrossFits,
  type MulticlassCalibration,
} from '../stats/performance/cbpe-multiclass-calibration.js';
import { labelKey, type Label } from '../stats/performance/index.js';
import { ProfileInputError, type Table } from './from-file.js';
import type { DatasetProfile, UncalibratedReason } from './types.js';

export interface TableCalibrationOptions {
  /** column holding P(positive class) */
  score: string;
  /** column holding the actual label */
  label: string;
  /** the positive class (default '1'; `1`, `'1'`, `true` are one class) */
  positiveClass?: Label;
}

/** The rows of a table with both a score and a label, as calibration points. */
function tablePoints(table: Table, options: TableCalibrationOptions): CalibrationPoint[] {
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
  return points;
}

/** Isotonic calibration from a reference table's score and label columns. */
export function calibrationFromTable(table: Table, options: TableCalibrationOptions): ScoreCalibration {
  const points = tablePoints(table, options);
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

/**
 * The labelled predictions of a time window as calibration points: one per 0.001 score bin of the
 * evaluation stream (mean score, count, actual positives). Empty when there are none (or no
 * evaluation stream yet).
 */
export async function labelledScorePoints(
  client: Client,
  options: ElasticsearchCalibrationOptions,
): Promise<CalibrationPoint[]> {
  const positive = labelKey(options.positiveClass ?? '1');
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
  const response = await searchOrEmpty(client, {
    index: resultStream('evaluation', options.namespace),
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
  const buckets =
    (
      response?.aggregations?.scores as
        | {
            buckets?: Array<{
              doc_count: number;
              mean: { value: number | null };
              positive: { doc_count: number };
            }>;
          }
        | undefined
    )?.buckets ?? [];
  return buckets
    .filter((b) => b.doc_count > 0 && b.mean.value !== null)
    .map((b) => ({ score: b.mean.value as number, count: b.doc_count, positives: b.positive.doc_count }));
}

/** Isotonic calibration from the labelled predictions of a time window (see the module comment). */
export async function calibrationFromElasticsearch(
  client: Client,
  options: ElasticsearchCalibrationOptions,
): Promise<ScoreCalibration> {
  const points = await labelledScorePoints(client, options);
  if (points.length === 0) {
    throw new CalibrationInputError(
      `no labelled predictions with a score for model ${options.model} in ` +
        `${resultStream('evaluation', options.namespace)} between ` +
        `${options.from.toISOString()} and ${options.to.toISOString()}`,
    );
  }
  return fitIsotonicCalibration(points);
}

/**
 * Fewest labelled reference predictions a calibration map is fitted on; below it the estimate uses
 * raw scores and the baseline says why. The band does not cover error in the map itself, so the map
 * must rest on enough labels: a constant block of the isotonic fit holding m predictions has a
 * standard error of up to 0.5 / sqrt(m), and with 200 labels a block of a quarter of them (m = 50)
 * is still off by up to 0.07, as much as the miscalibration such a map is meant to remove. (ELEC2's
 * 4-week reference in the demo holds 1344 labelled predictions, weather's 2 years 728.)
 */
export const MIN_CALIBRATION_LABELS = 200;

/** A reference period's calibration: the fitted map, or why there is none. */
export type ReferenceCalibration =
  { method: 'isotonic'; map: ScoreCalibration } | ({ method: 'none' } & UncalibratedReason);

export interface CalibrationDecisionOptions {
  mode?: CalibrationMode;
  /** default {@link MIN_CALIBRATION_LABELS} */
  minLabelled?: number;
}

/**
 * The calibration a reference's labelled points justify: isotonic when `mode` is `isotonic`
 * (the default), at least `minLabelled` predictions are labelled and both classes occur; otherwise
 * the reason (a map fitted on one class would call every later prediction certain). The map
 * carries its cross-fitted quality (`cross_fit`: 10 folds, out-of-fold ECE and Brier of raw and
 * calibrated scores); with `mode: 'auto'` a map that does not lower the out-of-fold Brier score is not
 * used (`not_needed`).
 */
export function decideCalibration(
  points: readonly CalibrationPoint[],
  options: CalibrationDecisionOptions = {},
): ReferenceCalibration {
  const labelled = points.reduce((a, p) => a + p.count, 0);
  const positives = points.reduce((a, p) => a + p.positives, 0);
  const minLabelled = options.minLabelled ?? MIN_CALIBRATION_LABELS;
  const none = (reason: UncalibratedReason['reason'], message: string): ReferenceCalibration => ({
    method: 'none',
    reason,
    labelled,
    positives,
    message,
  });
  if (options.mode === 'none')
    return none('disabled', 'calibration switched off: the estimate takes raw scores as probabilities');
  if (labelled < minLabelled) {
    return none(
      'too_few_labels',
      `${labelled} labelled reference predictions with a score, fewer than the ${minLabelled} a calibration needs: the estimate takes raw scores as probabilities`,
    );
  }
  if (positives === 0 || positives === labelled) {
    return none(
      'one_class',
      `all ${labelled} labelled reference predictions are ${positives === 0 ? 'negative' : 'positive'}: no calibration, the estimate takes raw scores as probabilities`,
    );
  }
  const map = fitIsotonicCalibration(points);
  const cross = crossFitCalibration(points);
  if (options.mode === 'auto' && cross && !cross.improves) {
    return none(
      'not_needed',
      `cross-fitted on ${labelled} labelled reference predictions the map does not calibrate better than the raw scores (Brier ${cross.brierCalibrated.toFixed(4)} vs ${cross.brierRaw.toFixed(4)} raw): the estimate takes raw scores as probabilities`,
    );
  }
  if (!cross) return { method: 'isotonic', map };
  return {
    method: 'isotonic',
    map: {
      ...map,
      cross_fit: {
        folds: cross.folds,
        ece_raw: cross.eceRaw,
        ece_calibrated: cross.eceCalibrated,
        brier_raw: cross.brierRaw,
        brier_calibrated: cross.brierCalibrated,
        expected_accuracy: cross.expectedAccuracy,
        realised_accuracy: cross.realisedAccuracy,
      },
    },
  };
}

/**
 * The calibration of a reference time window from its labelled predictions in the evaluation
 * stream (run the join first: `analyzer/baseline.ts` does).
 */
export async function referenceCalibration(
  client: Client,
  options: ElasticsearchCalibrationOptions & CalibrationDecisionOptions,
): Promise<ReferenceCalibration> {
  if (options.mode === 'none') return decideCalibration([], options);
  return decideCalibration(await labelledScorePoints(client, options), options);
}

/** The calibration of a reference file from its score and label columns, when it has both. */
export function referenceCalibrationFromTable(
  table: Table,
  options: Partial<TableCalibrationOptions> & CalibrationDecisionOptions = {},
): ReferenceCalibration {
  const score = options.score ?? 'prediction.score';
  const label = options.label ?? 'actual.label';
  if (options.mode === 'none' || !table.cells.has(score) || !table.cells.has(label))
    return decideCalibration([], options);
  return decideCalibration(tablePoints(table, { ...options, score, label }), options);
}

/** The profile with the reference calibration (map, or the reason there is none); a new object. */
export function withReferenceCalibration(
  profile: DatasetProfile,
  calibration: ReferenceCalibration,
): DatasetProfile {
  const { calibration: _map, uncalibrated: _reason, ...rest } = profile;
  if (calibration.method === 'isotonic') return { ...rest, calibration: calibration.map };
  const { method: _method, ...reason } = calibration;
  return { ...rest, uncalibrated: reason };
}

/**
 * Multi-class: per predicted class, its labelled reference predictions as calibration points of the
 * class's own probability (`prediction.probabilities.<class>`) against "right" (actual = predicted),
 * one per 0.001 bin of the evaluation stream, as for binary (module comment); the map's method is in
 * stats/performance/cbpe-multiclass-calibration.ts. The classes are the evaluation stream's
 * `prediction.probabilities.*` fields (field caps).
 */
export async function labelledOwnProbabilityPoints(
  client: Client,
  options: ElasticsearchCalibrationOptions,
): Promise<Map<string, CalibrationPoint[]>> {
  const index = resultStream('evaluation', options.namespace);
  const prefix = 'prediction.probabilities.';
  const classes = await probabilityClasses(client, index);
  const out = new Map<string, CalibrationPoint[]>();
  if (classes.length === 0) return out;
  const response = await searchOrEmpty(client, {
    index,
    size: 0,
    query: {
      bool: {
        filter: [
          { term: { 'model.name': options.model } },
          ...(options.version ? [{ term: { 'model.version': options.version } }] : []),
          { range: { '@timestamp': { gte: options.from.toISOString(), lt: options.to.toISOString() } } },
          { exists: { field: 'actual.label' } },
        ],
      },
    },
    aggs: Object.fromEntries(
      classes.map((c, i) => [
        `own_${i}`,
        {
          filter: { term: { 'prediction.label': c } },
          aggs: {
            bins: {
              histogram: { field: `${prefix}${c}`, interval: 0.001, min_doc_count: 1 },
              aggs: {
                mean: { avg: { field: `${prefix}${c}` } },
                right: { filter: { term: { 'actual.label': c } } },
              },
            },
          },
        },
      ]),
    ),
  });
  type Bins = {
    bins?: {
      buckets?: Array<{ doc_count: number; mean: { value: number | null }; right: { doc_count: number } }>;
    };
  };
  classes.forEach((c, i) => {
    const buckets = (response?.aggregations?.[`own_${i}`] as Bins | undefined)?.bins?.buckets ?? [];
    const points = buckets
      .filter((b) => b.doc_count > 0 && b.mean.value !== null)
      .map((b) => ({ score: b.mean.value as number, count: b.doc_count, positives: b.right.doc_count }));
    if (points.length > 0) out.set(c, points);
  });
  return out;
}

/** A multi-class reference's calibration: the maps, or why there are none. */
export type ReferenceMulticlassCalibration =
  { method: 'top_label_isotonic'; map: MulticlassCalibration } | ({ method: 'none' } & UncalibratedReason);

/**
 * The multi-class calibration a reference's labelled points justify: per predicted class a map when
 * `mode` allows it, the class has at least `minLabelled` labelled predictions and both right and wrong
 * ones (as for binary; with `mode: 'auto'` a class's map that does not lower the out-of-fold Brier
 * score is left out); the maps' out-of-fold quality summarised with a trust verdict
 * (`cross_fit.trusted`, cbpe-multiclass-calibration.ts). None when no class gets a map.
 */
export function decideMulticlassCalibration(
  pointsByClass: ReadonlyMap<string, readonly CalibrationPoint[]>,
  options: CalibrationDecisionOptions = {},
): ReferenceMulticlassCalibration {
  const minLabelled = options.minLabelled ?? MIN_CALIBRATION_LABELS;
  const sum = (ps: readonly CalibrationPoint[], get: (p: CalibrationPoint) => number): number =>
    ps.reduce((a, p) => a + get(p), 0);
  let labelled = 0;
  let right = 0;
  for (const ps of pointsByClass.values()) {
    labelled += sum(ps, (p) => p.count);
    right += sum(ps, (p) => p.positives);
  }
  const none = (reason: UncalibratedReason['reason'], message: string): ReferenceMulticlassCalibration => ({
    method: 'none',
    reason,
    labelled,
    positives: right,
    message,
  });
  if (options.mode === 'none')
    return none('disabled', 'calibration switched off: the estimate takes raw probabilities as they are');
  const classes: Record<string, ScoreCalibration> = {};
  const uncalibrated: Record<string, string> = {};
  const fits: Array<{ count: number; right: number; fit: CrossFit }> = [];
  for (const [label, points] of pointsByClass) {
    const n = sum(points, (p) => p.count);
    const r = sum(points, (p) => p.positives);
    if (n < minLabelled) {
      uncalibrated[label] =
        `${n} labelled reference predictions of class ${label}, fewer than ${minLabelled}`;
      continue;
    }
    if (r === 0 || r === n) {
      uncalibrated[label] =
        `all ${n} labelled reference predictions of class ${label} are ${r === 0 ? 'wrong' : 'right'}`;
      continue;
    }
    const cross = crossFitCalibration(points);
    if (options.mode === 'auto' && cross && !cross.improves) {
      uncalibrated[label] =
        `class ${label}: the map does not calibrate better than the raw probability out of fold`;
      continue;
    }
    classes[label] = fitIsotonicCalibration(points);
    if (cross) fits.push({ count: n, right: r, fit: cross });
  }
  if (Object.keys(classes).length === 0) {
    return none(
      labelled < minLabelled ? 'too_few_labels' : options.mode === 'auto' ? 'not_needed' : 'too_few_labels',
      `no predicted class has a calibration map (${Object.values(uncalibrated).join('; ') || 'no labelled reference predictions with class probabilities'}): the estimate takes raw probabilities as they are`,
    );
  }
  const crossFit = summariseCrossFits(fits);
  return {
    method: 'top_label_isotonic',
    map: {
      method: 'top_label_isotonic',
      classes,
      ...(Object.keys(uncalibrated).length > 0 ? { uncalibrated } : {}),
      count: labelled,
      right,
      ...(crossFit ? { cross_fit: crossFit } : {}),
    },
  };
}

/** The multi-class calibration of a reference time window (labelled predictions, evaluation stream). */
export async function referenceMulticlassCalibration(
  client: Client,
  options: ElasticsearchCalibrationOptions & CalibrationDecisionOptions,
): Promise<ReferenceMulticlassCalibration> {
  if (options.mode === 'none') return decideMulticlassCalibration(new Map(), options);
  return decideMulticlassCalibration(await labelledOwnProbabilityPoints(client, options), options);
}

/** The profile with the multi-class calibration (maps, or the reason there are none); a new object. */
export function withReferenceMulticlassCalibration(
  profile: DatasetProfile,
  calibration: ReferenceMulticlassCalibration,
): DatasetProfile {
  const { multiclassCalibration: _map, uncalibrated: _reason, ...rest } = profile;
  if (calibration.method === 'top_label_isotonic') return { ...rest, multiclassCalibration: calibration.map };
  const { method: _method, ...reason } = calibration;
  return { ...rest, uncalibrated: reason };
}

/** The profile with the calibration map attached (a new object; the input is left as it is). */
export function withCalibration(profile: DatasetProfile, calibration: ScoreCalibration): DatasetProfile {
  return { ...profile, calibration };
}
