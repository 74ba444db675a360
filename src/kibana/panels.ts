/**
 * What the five dashboard specifications (dashboard-*.ts) share: the specification type, the
 * builders of their Lens panels (a chart over time, a headline tile, a table by terms), the common
 * buckets and the KQL scopes. Data only; dashboards.ts turns the specifications into saved objects.
 */
import { DATASET_FEATURE } from '../analyzer/results.js';
import type { Bucket, LensPanel, Metric, MetricOp } from './lens.js';
import type { DataViewKind, FieldFormat } from './saved-objects.js';
import type { VegaPanel } from './vega.js';

export type DashboardKey = 'overview' | 'drift' | 'performance' | 'quality' | 'service';

export interface DashboardSpec {
  key: DashboardKey;
  title: string;
  /** The question the dashboard answers (README and dashboard description). */
  question: string;
  /** Data view of the controls. */
  controlDataView: DataViewKind;
  /** Fields with an options-list control, in order. */
  controls: string[];
  panels: LensPanel[];
  /** Vega panels, after the Lens ones (only what Lens cannot draw). */
  vega?: VegaPanel[];
}

export function dashboardId(key: DashboardKey): string {
  return `mlmon-dashboard-${key}`;
}

/** Options-list controls every dashboard has: model, version, namespace. */
export const COMMON_CONTROLS = ['model.name', 'model.version', 'data_stream.namespace'];

/** Model inputs only: not the dataset summary, the prediction, the target or explanations. */
export const FEATURES_ONLY = 'feature.role: "feature"';
/** The multivariate drift documents (analyzer/multivariate.ts), one per method and window. */
export const MULTIVARIATE_ONLY = 'feature.role: "multivariate"';
export const DATASET_ONLY = `feature.name: "${DATASET_FEATURE}"`;
export const MODEL_SCOPE = 'performance.scope: "model"';

/** A metric column: `op` of `field` (no field for `count`), labelled, optionally formatted. */
export function metric(op: MetricOp, field: string | undefined, label: string, format?: FieldFormat): Metric {
  return { op, ...(field !== undefined ? { field } : {}), label, ...(format ? { format } : {}) };
}

export const terms = (field: string, size: number, label?: string): Bucket => ({
  type: 'terms',
  field,
  size,
  ...(label !== undefined ? { label } : {}),
});

interface Layout {
  query?: string;
  w?: number;
  h?: number;
}

/** A chart over time: `@timestamp` on x, one series per value of `by` when given (top `size`). */
export function overTime(
  id: string,
  title: string,
  dataView: DataViewKind,
  metrics: Metric[],
  o: Layout & { viz?: 'line' | 'bar' | 'heatmap'; by?: Bucket } = {},
): LensPanel {
  return {
    id,
    title,
    dataView,
    viz: o.viz ?? 'line',
    ...(o.query !== undefined ? { query: o.query } : {}),
    x: { type: 'date' },
    ...(o.by ? { split: o.by } : {}),
    metrics,
    ...(o.w !== undefined ? { w: o.w } : {}),
    ...(o.h !== undefined ? { h: o.h } : {}),
  };
}

/** One headline number (a quarter of the dashboard's width). */
export function tile(
  id: string,
  title: string,
  dataView: DataViewKind,
  m: Metric,
  query?: string,
): LensPanel {
  return {
    id,
    title,
    dataView,
    viz: 'metric',
    ...(query !== undefined ? { query } : {}),
    metrics: [m],
    w: 12,
  };
}

/** A table (or a bar chart of one row level): rows by `rows`, then by `by`, one column per metric. */
export function byTerms(
  id: string,
  title: string,
  dataView: DataViewKind,
  rows: Bucket,
  metrics: Metric[],
  o: Layout & { viz?: 'table' | 'bar'; by?: Bucket } = {},
): LensPanel {
  return {
    id,
    title,
    dataView,
    viz: o.viz ?? 'table',
    ...(o.query !== undefined ? { query: o.query } : {}),
    x: rows,
    ...(o.by ? { split: o.by } : {}),
    metrics,
    ...(o.w !== undefined ? { w: o.w } : {}),
  };
}

export const byModel = terms('model.name', 10);
export const byVersion = terms('model.version', 10);
export const byHost = terms('host.name', 10);
export const byFeature = terms('feature.name', 10);

export const QUALITY_RATES = [
  ['missing', 'quality.missing_rate', 'Missing rate'],
  ['out-of-range', 'quality.out_of_range_rate', 'Out-of-range rate'],
  ['unseen', 'quality.unseen_category_rate', 'Unseen-category rate'],
  ['type-mismatch', 'quality.type_mismatch_rate', 'Type-mismatch rate'],
] as const;

/** Model-level rates over time, one line per version: slug, title, field, label. */
export const PER_VERSION = [
  ['realised', 'Realised accuracy per version', 'performance.accuracy', 'Accuracy'],
  [
    'estimated',
    'Estimated accuracy per version (CBPE)',
    'performance.estimated.accuracy',
    'Estimated accuracy',
  ],
  ['coverage', 'Label coverage', 'performance.label_coverage', 'Label coverage'],
] as const;
