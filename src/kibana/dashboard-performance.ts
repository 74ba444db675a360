/** The performance dashboard (see panels.ts for the builders; dashboards.ts lists the five). */
import {
  byTerms,
  byVersion,
  COMMON_CONTROLS,
  metric,
  MODEL_SCOPE,
  overTime,
  PER_VERSION,
  terms,
  type DashboardSpec,
} from './panels.js';

export const PERFORMANCE_DASHBOARD: DashboardSpec = {
  key: 'performance',
  title: 'mlmon · Model performance',
  question: 'How well does each version perform, realised where labels exist and estimated where not?',
  controlDataView: 'performance',
  controls: COMMON_CONTROLS,
  panels: [
    ...PER_VERSION.map(([slug, title, field, label]) =>
      overTime(`performance-${slug}`, title, 'performance', [metric('average', field, label, 'percent')], {
        query: MODEL_SCOPE,
        by: byVersion,
      }),
    ),
    byTerms(
      'performance-confusion',
      'Confusion matrix (binary)',
      'performance',
      terms('model.version', 10, 'Version'),
      [
        metric('sum', 'performance.confusion.tp', 'True positives'),
        metric('sum', 'performance.confusion.fp', 'False positives'),
        metric('sum', 'performance.confusion.fn', 'False negatives'),
        metric('sum', 'performance.confusion.tn', 'True negatives'),
      ],
      { query: MODEL_SCOPE },
    ),
    byTerms(
      'performance-estimate-assumptions',
      'Why the estimate failed: windows per failed assumption (CBPE)',
      'performance',
      terms('performance.estimated.failed_assumptions', 5, 'Failed assumption'),
      [metric('count', undefined, 'Windows')],
      { query: MODEL_SCOPE, by: byVersion },
    ),
    byTerms(
      'performance-segments',
      'Accuracy by segment',
      'performance',
      terms('segment.name', 10, 'Segment'),
      [metric('average', 'performance.accuracy', 'Accuracy', 'percent')],
      { query: 'performance.scope: "segment"', by: terms('segment.value', 20, 'Value') },
    ),
    overTime(
      'performance-fairness',
      'Fairness gaps by segment',
      'performance',
      [
        metric('max', 'fairness.demographic_parity_difference', 'Demographic parity gap'),
        metric('max', 'fairness.equal_opportunity_difference', 'Equal opportunity gap'),
      ],
      { query: 'performance.scope: "fairness"', by: terms('segment.name', 10) },
    ),
    byTerms(
      'performance-versions',
      'Version comparison',
      'performance',
      terms('model.version', 20, 'Version'),
      [
        metric('average', 'performance.accuracy', 'Accuracy', 'percent'),
        metric('average', 'performance.f1', 'F1', 'percent'),
        metric('average', 'performance.roc_auc', 'ROC AUC'),
        metric('sum', 'performance.count', 'Labelled predictions'),
      ],
      { query: MODEL_SCOPE, w: 48 },
    ),
    overTime(
      'performance-ab',
      'A/B: challenger minus champion (B − A) with its interval',
      'performance',
      [
        metric('average', 'comparison.difference', 'B − A'),
        metric('average', 'comparison.lower', 'interval lower'),
        metric('average', 'comparison.upper', 'interval upper'),
      ],
      { query: 'performance.scope: "comparison"', by: terms('model.version', 10, 'Challenger') },
    ),
  ],
};
