/** The drift dashboard (see panels.ts for the builders; dashboards.ts lists the five). */
import { DISTRIBUTION_PANEL } from './vega.js';
import {
  byTerms,
  COMMON_CONTROLS,
  FEATURES_ONLY,
  metric,
  MULTIVARIATE_ONLY,
  overTime,
  terms,
  type DashboardSpec,
} from './panels.js';

export const DRIFT_DASHBOARD: DashboardSpec = {
  key: 'drift',
  title: 'mlmon · Feature drift',
  question: 'Which features drift, since when, by how much, and by which statistic?',
  controlDataView: 'drift',
  controls: [...COMMON_CONTROLS, 'feature.name'],
  panels: [
    // PSI rather than drift.score: the score is a p-value for KS / chi-square (smaller = more
    // drift) and a distance otherwise, so one colour scale cannot show both.
    overTime(
      'drift-heatmap',
      'Drift (PSI) per feature over time',
      'drift',
      [metric('max', 'drift.psi', 'PSI')],
      {
        viz: 'heatmap',
        query: FEATURES_ONLY,
        by: terms('feature.name', 30, 'Feature'),
        w: 48,
        h: 15,
      },
    ),
    byTerms(
      'drift-top-features',
      'Top drifting features (PSI)',
      'drift',
      terms('feature.name', 15, 'Feature'),
      [metric('max', 'drift.psi', 'PSI')],
      { viz: 'bar', query: FEATURES_ONLY },
    ),
    byTerms(
      'drift-detected-count',
      'Drift decisions per feature',
      'drift',
      terms('feature.name', 50, 'Feature'),
      [metric('count', undefined, 'Windows with drift'), metric('max', 'drift.psi', 'Max PSI')],
      { query: `${FEATURES_ONLY} and drift.detected: true`, by: terms('drift.method', 5, 'Method') },
    ),
    overTime(
      'drift-statistics',
      'PSI, KS, Wasserstein and Jensen–Shannon over time (choose a feature above)',
      'drift',
      [
        metric('average', 'drift.psi', 'PSI'),
        metric('average', 'drift.ks', 'KS'),
        metric('average', 'drift.wasserstein', 'Wasserstein (normalised)'),
        metric('average', 'drift.js', 'Jensen–Shannon'),
      ],
      { query: FEATURES_ONLY, w: 48 },
    ),
    // Issue 27: one statistic per method and window (PCA reconstruction error, domain-classifier
    // AUROC) beside its upper threshold; a line above its threshold is a window with drift.
    overTime(
      'drift-multivariate',
      'Multivariate drift: statistic and threshold per method (PCA reconstruction, domain classifier)',
      'drift',
      [metric('max', 'drift.score', 'Statistic'), metric('max', 'drift.threshold', 'Threshold')],
      { query: MULTIVARIATE_ONLY, by: terms('drift.method', 2, 'Method'), w: 48 },
    ),
  ],
  vega: [DISTRIBUTION_PANEL],
};
