/** The overview dashboard (see panels.ts for the builders; dashboards.ts lists the five). */
import {
  byModel,
  byTerms,
  COMMON_CONTROLS,
  DATASET_ONLY,
  metric,
  MODEL_SCOPE,
  overTime,
  terms,
  tile,
  type DashboardSpec,
} from './panels.js';

export const OVERVIEW_DASHBOARD: DashboardSpec = {
  key: 'overview',
  title: 'mlmon · Overview',
  question: 'Which models and versions are live, and is any of them drifting, degrading or slow?',
  controlDataView: 'performance',
  controls: COMMON_CONTROLS,
  panels: [
    byTerms(
      'overview-models',
      'Models and versions live',
      'service',
      terms('model.name', 50, 'Model'),
      [metric('sum', 'window.count', 'Predictions')],
      { by: terms('model.version', 20, 'Version') },
    ),
    overTime(
      'overview-volume',
      'Prediction volume',
      'prediction',
      [metric('count', undefined, 'Predictions')],
      {
        viz: 'bar',
        by: byModel,
      },
    ),
    overTime(
      'overview-drift-share',
      'Share of drifted features',
      'drift',
      [metric('max', 'summary.drift_share', 'Drifted share', 'percent')],
      { query: DATASET_ONLY, by: byModel },
    ),
    tile(
      'overview-accuracy',
      'Realised accuracy',
      'performance',
      metric('average', 'performance.accuracy', 'Accuracy', 'percent'),
      MODEL_SCOPE,
    ),
    tile(
      'overview-estimated-accuracy',
      'Estimated accuracy (CBPE)',
      'performance',
      metric('average', 'performance.estimated.accuracy', 'Estimated accuracy', 'percent'),
      MODEL_SCOPE,
    ),
    tile(
      'overview-label-coverage',
      'Label coverage',
      'performance',
      metric('average', 'performance.label_coverage', 'Label coverage', 'percent'),
      MODEL_SCOPE,
    ),
    tile(
      'overview-latency-p95',
      'Latency p95',
      'service',
      metric('max', 'service.latency.p95', 'Latency p95', 'duration-ms'),
    ),
    overTime(
      'overview-degraded-windows',
      'Windows below a performance bound',
      'performance',
      [metric('count', undefined, 'Degraded windows')],
      { viz: 'bar', query: `${MODEL_SCOPE} and performance.degraded: true`, by: byModel },
    ),
    overTime(
      'overview-accuracy-bound',
      'Realised accuracy against its bound',
      'performance',
      [
        metric('average', 'performance.accuracy', 'Accuracy', 'percent'),
        metric('max', 'performance.bounds.accuracy.lower', 'Lower bound', 'percent'),
      ],
      { query: MODEL_SCOPE, w: 48 },
    ),
  ],
};
