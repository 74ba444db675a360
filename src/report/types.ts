/**
 * What a report is made of: plain typed data read from the result streams (gather.ts), judged by
 * pure functions (verdict.ts), and rendered separately (charts.ts, html.ts, text.ts, csv.ts). Every
 * string in here may come from production data (model, feature and category names as logged) and
 * is escaped only where it is rendered.
 */
import type { ComparisonRow } from './comparison.js';

/** A half-open period [start, end). */
export interface ReportPeriod {
  start: Date;
  end: Date;
}

/** One drift result document (one feature, one window), as stored. */
export interface DriftRow {
  version: string;
  feature: string;
  /** `numeric`, `categorical`, `prediction`, `target`, `explanation` (DESIGN.md `feature.kind`). */
  kind: string;
  windowStart: string;
  windowEnd: string;
  /** Predictions in the window. */
  windowCount: number;
  method: string;
  score: number | null;
  threshold: number | null;
  detected: boolean;
  severity: string | null;
  psi: number | null;
  referenceId: string | null;
  referenceType: string | null;
}

/** A feature's drift over the period: its windows taken together. */
export interface FeatureDrift {
  version: string;
  feature: string;
  kind: string;
  /** Windows with a drift result. */
  windows: number;
  /** Windows where drift was detected. */
  drifted: number;
  /** Score and threshold of the window with the largest score ÷ threshold (the worst window). */
  worstScore: number | null;
  worstThreshold: number | null;
  worstWindowStart: string | null;
  method: string;
  /**
   * Start of the first window of the latest run of drifted windows (consecutive among the windows
   * with a result): the date drift began; null when no window drifted.
   */
  driftBegan: string | null;
  /** The latest window's decision. */
  latestDetected: boolean;
  latestScore: number | null;
  /** Mean PSI over the windows that have one. */
  meanPsi: number | null;
}

/** A feature's data quality over the period, every rate weighted by the window's predictions. */
export interface FeatureQuality {
  version: string;
  feature: string;
  windows: number;
  missingRate: number | null;
  outOfRangeRate: number | null;
  unseenCategoryRate: number | null;
  typeMismatchRate: number | null;
  /** True when the feature appeared in the window but not in the reference. */
  unexpected: boolean;
  /** New categories seen (up to 10 per window as the analyzer stores them), in order of first sight. */
  newCategories: string[];
  /** The worst window's `quality.severity` (none, low, medium, high); null for older documents. */
  worstSeverity?: string | null;
}

/** One performance result document at model scope (no segment). */
export interface PerformancePoint {
  version: string;
  windowStart: string;
  windowEnd: string;
  task: string | null;
  /** Labelled predictions. */
  count: number;
  labelCoverage: number | null;
  /** Realised metrics present in the document (`accuracy`, `f1`, `roc_auc`, `rmse`…). */
  realised: Record<string, number>;
  /** CBPE estimates present in the document. */
  estimated: Record<string, number>;
  degraded: boolean | null;
  degradedMetrics: string[];
  estimatedDegraded: boolean | null;
  /**
   * Whether the estimate held up against the window's labels (`performance.estimated.reliable`):
   * false when realised and estimated diverge or the calibration shifted; null or absent when too
   * few labels to judge.
   */
  estimatedReliable?: boolean | null;
  /** Why not (`performance.estimated.unreliable_reason`), e.g. `accuracy_outside_band`. */
  estimatedUnreliableReasons?: string[];
  /**
   * Which assumption of the estimate failed (`performance.estimated.failed_assumptions`):
   * `calibration_drift`, `prior_shift`, `concept_drift`.
   */
  estimatedFailedAssumptions?: string[];
}

/** One service health result document. */
export interface ServicePoint {
  version: string;
  windowStart: string;
  windowEnd: string;
  count: number;
  errors: number | null;
  errorRate: number | null;
  throughput: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Service health over the period. */
export interface ServiceSummary {
  predictions: number;
  errors: number;
  /** errors ÷ predictions; null without predictions. */
  errorRate: number | null;
  /** Largest p95 and p99 latency of a window, ms. */
  maxP95: number | null;
  maxP99: number | null;
}

/** Reference versus current distribution of one feature (shares summing to 1 over its bins). */
export interface FeatureDistribution {
  version: string;
  feature: string;
  kind: 'numeric' | 'categorical';
  /**
   * Bin labels as the analyzer stored them (src/schema/bins.ts): `[a, b)` ranges over the
   * reference deciles, or the reference's category names (`(other)` last).
   */
  bins: string[];
  reference: number[];
  current: number[];
  /** Rows of the reference (the drift documents' `reference.count`). */
  referenceCount: number;
  /** Values of the feature in the period's windows (the sum of their `feature_count`). */
  currentCount: number;
  /** `baseline` or `window` (the drift documents' `reference.type`). */
  referenceType: string | null;
  /** Windows of the period the current side adds up. */
  windows: number;
}

/** Expected range of a performance metric (the scheduler config's `performance.bounds`). */
export interface MetricBound {
  min?: number;
  max?: number;
}

/** Predictions per UTC day of a period (volume.ts). */
export interface DailyVolume {
  /** Every UTC day the period touches, oldest first: its date (`YYYY-MM-DD`) and its predictions. */
  days: Array<{ date: string; predictions: number }>;
  /** Days without a prediction, when the period had predictions on other days. */
  empty: string[];
  /** Whole days with predictions far below the median whole day (volume.ts `LOW_DAY_SHARE`). */
  low: string[];
  /** Predictions of the median whole day with predictions; null without one. */
  medianDay: number | null;
}

/** Everything a report says about one model in one period. */
export interface ModelPeriodData {
  model: string;
  namespace: string;
  period: ReportPeriod;
  versions: string[];
  /** Predictions logged in the period (prediction stream), analyzed or not. */
  predictionsLogged: number;
  /** The same per UTC day, with the days to look at (absent in data built by hand). */
  daily?: DailyVolume;
  drift: DriftRow[];
  /** Per (version, feature), ranked: most drifted windows first, then worst score ÷ threshold. */
  features: FeatureDrift[];
  /** Drifted input features ÷ input features, per window (from the `_dataset` summary documents). */
  driftShare: Array<{
    version: string;
    windowStart: string;
    share: number;
    drifted: number;
    features: number;
  }>;
  quality: FeatureQuality[];
  performance: PerformancePoint[];
  service: ServicePoint[];
  serviceSummary: ServiceSummary;
  distributions: FeatureDistribution[];
  bounds: Record<string, MetricBound>;
  /** A/B: each challenger against the champion, per window where both were live (oldest first). */
  comparisons?: ComparisonRow[];
  /** What could not be read, in words (no baseline, …). */
  notes: string[];
}

export type VerdictStatus = 'healthy' | 'drifting' | 'degraded' | 'no-data';

export interface Verdict {
  status: VerdictStatus;
  /** One sentence, names as logged (escape when rendering). */
  sentence: string;
  reasons: string[];
}

export interface Change {
  kind:
    | 'started-drifting'
    | 'stopped-drifting'
    | 'metric'
    | 'error-rate'
    | 'latency-p95'
    | 'volume'
    | 'new-data'
    | 'no-data';
  /** What changed, in words. */
  text: string;
  /** For numeric changes: the previous and current values. */
  before?: number | null;
  after?: number | null;
  feature?: string;
}

/** One model's section of a report. */
export interface ModelReport {
  data: ModelPeriodData;
  previous: ModelPeriodData | undefined;
  verdict: Verdict;
  changes: Change[];
}

export interface ReportData {
  title: string;
  namespace: string;
  period: ReportPeriod;
  generatedAt: Date;
  models: ModelReport[];
}
