/**
 * Reference profiles: the summary of a data set that drift is measured against. The same shape is
 * built from a local file (`from-file.ts`) and, by the analyzer, from Elasticsearch aggregations
 * (percentiles, `range` bin counts, `extended_stats`, `terms`), and is stored in `mlmon-baselines`.
 *
 * Binning convention for every `edges` / `counts` pair: `edges` are k sorted inner cut points and
 * `counts` has k + 1 entries, bin i = [edges[i−1], edges[i]) with open ends, a value equal to an edge
 * counted in the upper bin (an Elasticsearch `range` aggregation's from-inclusive, to-exclusive).
 */
import type { ValueKind } from '../schema/fields.js';
import type { ScoreCalibration } from '../stats/performance/calibration.js';
import type { MulticlassCalibration } from '../stats/performance/cbpe-multiclass-calibration.js';
import type { DirectLossModel } from '../stats/performance/dle.js';
import type { MultivariateState, NoMultivariate } from './multivariate-state.js';

/** A profile entry describes numeric or categorical values (the field's value kind). */
export type ProfileFeatureKind = ValueKind;

export interface NumericFeatureProfile {
  kind: 'numeric';
  /** Non-missing values. */
  count: number;
  /** Missing values (empty cell, null, absent key). */
  missing: number;
  /** null when count is 0. */
  mean: number | null;
  /** Population standard deviation (ddof 0); null when count is 0. */
  std: number | null;
  min: number | null;
  max: number | null;
  /** Decile cut points (9) for PSI, numpy-linear quantiles of the values. */
  psiEdges: number[];
  /** Counts per PSI bin (10). */
  psiCounts: number[];
  /** Finer quantile cut points (default 99 percentiles) for binned KS and Wasserstein. */
  edges: number[];
  /** Counts per fine bin (edges.length + 1). */
  counts: number[];
}

export interface CategoricalFeatureProfile {
  kind: 'categorical';
  count: number;
  missing: number;
  /** Number of distinct categories seen. */
  distinct: number;
  /** Counts of the top K categories (most frequent first; ties by name). */
  categories: Record<string, number>;
  /** Total count of the categories outside the top K. */
  otherCount: number;
  /** How many distinct categories were folded into `otherCount`. */
  otherCategories: number;
}

export type FeatureProfile = NumericFeatureProfile | CategoricalFeatureProfile;

export type ProfileSource =
  | { kind: 'file'; path: string; format: 'csv' | 'jsonl' }
  | { kind: 'elasticsearch'; index: string; from: string; to: string; query?: unknown };

export interface ProfileOptions {
  /** Number of fine quantile bins for the Elasticsearch path (default 100 → 99 cut points). */
  fineBins?: number;
  /** Categories kept per categorical feature (default 100); the rest go to `otherCount`. */
  topK?: number;
  /** Columns to treat as categorical even when every value parses as a number. */
  categorical?: readonly string[];
  /** Columns to leave out. */
  exclude?: readonly string[];
}

export interface DatasetProfile {
  source: ProfileSource;
  /** Rows (documents) in the data. */
  rowCount: number;
  createdAt: string;
  options: { fineBins: number; topK: number };
  /** Per feature, in column order. */
  features: Record<string, FeatureProfile>;
  /**
   * Binary classifiers: the isotonic map from score to P(positive) fitted on the reference labels
   * (profiles/calibration.ts), used by the CBPE estimate. Absent when the reference had no labels.
   */
  calibration?: ScoreCalibration;
  /**
   * Why `calibration` is absent, when a calibration was asked for and not fitted (too few labelled
   * reference predictions, one class only, or switched off): the CBPE estimate then takes raw
   * scores as probabilities. Written by `withReferenceCalibration`.
   */
  uncalibrated?: UncalibratedReason;
  /**
   * Multi-class models: per predicted class, the map of its own probability to P(right) fitted on the
   * reference labels (profiles/calibration.ts `decideMulticlassCalibration`), used by the estimate.
   */
  multiclassCalibration?: MulticlassCalibration;
  /**
   * Regression models: the direct loss estimation model fitted on the reference labels
   * (profiles/loss-model.ts), used for the estimated MAE and RMSE.
   */
  lossModel?: DirectLossModel;
  /** Why `lossModel` is absent for a regression reference with labels (too few, no numeric input). */
  noLossModel?: { reason: 'too_few_labels' | 'no_inputs'; labelled: number; message: string };
  /** Multivariate drift (PCA reconstruction, domain classifier) fitted on a sample of the reference rows (multivariate.ts). */
  multivariate?: MultivariateState;
  /** Why `multivariate` is absent when it was fitted for and could not be (fewer than 2 features…). */
  noMultivariate?: NoMultivariate;
}

/** Why a reference has no score calibration; `message` is one line for people. */
export interface UncalibratedReason {
  reason: 'disabled' | 'too_few_labels' | 'one_class' | 'not_needed';
  /** labelled reference predictions with a score */
  labelled: number;
  /** of which actually positive */
  positives: number;
  message: string;
}

export const DEFAULT_FINE_BINS = 100;
export const DEFAULT_TOP_K = 100;
