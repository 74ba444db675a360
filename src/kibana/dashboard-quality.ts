/** The quality dashboard (see panels.ts for the builders; dashboards.ts lists the five). */
import {
  byFeature,
  byTerms,
  COMMON_CONTROLS,
  metric,
  overTime,
  QUALITY_RATES,
  terms,
  type DashboardSpec,
} from './panels.js';

export const QUALITY_DASHBOARD: DashboardSpec = {
  key: 'quality',
  title: 'mlmon · Data quality',
  question:
    'Which features arrive missing, out of range, with unseen categories or the wrong type, and what was dead-lettered?',
  controlDataView: 'quality',
  controls: [...COMMON_CONTROLS, 'feature.name'],
  panels: [
    ...QUALITY_RATES.map(([slug, field, label]) =>
      overTime(
        `quality-${slug}`,
        `${label} by feature`,
        'quality',
        [metric('max', field, label, 'percent')],
        {
          by: byFeature,
        },
      ),
    ),
    overTime(
      'quality-deadletters',
      'Dead-lettered events',
      'deadletter',
      [metric('count', undefined, 'Dead letters')],
      {
        viz: 'bar',
        by: terms('error.type', 10),
      },
    ),
    byTerms(
      'quality-deadletter-reasons',
      'Dead-letter reasons',
      'deadletter',
      terms('error.reason', 20, 'Reason'),
      [metric('count', undefined, 'Events')],
      { by: terms('deadletter.stage', 5, 'Stage') },
    ),
  ],
};
