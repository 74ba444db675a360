/**
 * mlmon's five dashboards as data: which panels each has, on which stream, with which query. The
 * saved objects (lens, links, dashboard) are generated from these specifications by
 * {@link dashboardObjects}; the tests run each panel's equivalent Elasticsearch request on result
 * documents written by the real analyzer.
 */
import { DATASET_FEATURE } from '../analyzer/results.js';
import { lensId, type LensPanel } from './lens.js';
import {
  dataViewId,
  savedObject,
  type DataViewKind,
  type Reference,
  type SavedObject,
} from './saved-objects.js';

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
}

export function dashboardId(key: DashboardKey): string {
  return `mlmon-dashboard-${key}`;
}

export const LINKS_ID = 'mlmon-links-dashboards';

/** Options-list controls every dashboard has: model, version, namespace. */
export const COMMON_CONTROLS = ['model.name', 'model.version', 'data_stream.namespace'];

/** Model inputs only: not the dataset summary, the prediction, the target or explanations. */
const FEATURES_ONLY = 'feature.role: "feature"';
const DATASET_ONLY = `feature.name: "${DATASET_FEATURE}"`;
const MODEL_SCOPE = 'performance.scope: "model"';

export const DASHBOARDS: readonly DashboardSpec[] = [
  {
    key: 'overview',
    title: 'mlmon · Overview',
    question: 'Which models and versions are live, and is any of them drifting, degrading or slow?',
    controlDataView: 'performance',
    controls: COMMON_CONTROLS,
    panels: [
      {
        id: 'overview-models',
        title: 'Models and versions live',
        dataView: 'service',
        viz: 'table',
        x: { type: 'terms', field: 'model.name', size: 50, label: 'Model' },
        split: { type: 'terms', field: 'model.version', size: 20, label: 'Version' },
        metrics: [{ op: 'sum', field: 'window.count', label: 'Predictions' }],
      },
      {
        id: 'overview-volume',
        title: 'Prediction volume',
        dataView: 'prediction',
        viz: 'bar',
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.name', size: 10 },
        metrics: [{ op: 'count', label: 'Predictions' }],
      },
      {
        id: 'overview-drift-share',
        title: 'Share of drifted features',
        dataView: 'drift',
        viz: 'line',
        query: DATASET_ONLY,
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.name', size: 10 },
        metrics: [{ op: 'max', field: 'summary.drift_share', label: 'Drifted share', format: 'percent' }],
      },
      {
        id: 'overview-accuracy',
        title: 'Realised accuracy',
        dataView: 'performance',
        viz: 'metric',
        query: MODEL_SCOPE,
        metrics: [{ op: 'average', field: 'performance.accuracy', label: 'Accuracy', format: 'percent' }],
        w: 12,
      },
      {
        id: 'overview-estimated-accuracy',
        title: 'Estimated accuracy (CBPE)',
        dataView: 'performance',
        viz: 'metric',
        query: MODEL_SCOPE,
        metrics: [
          {
            op: 'average',
            field: 'performance.estimated.accuracy',
            label: 'Estimated accuracy',
            format: 'percent',
          },
        ],
        w: 12,
      },
      {
        id: 'overview-label-coverage',
        title: 'Label coverage',
        dataView: 'performance',
        viz: 'metric',
        query: MODEL_SCOPE,
        metrics: [
          { op: 'average', field: 'performance.label_coverage', label: 'Label coverage', format: 'percent' },
        ],
        w: 12,
      },
      {
        id: 'overview-latency-p95',
        title: 'Latency p95',
        dataView: 'service',
        viz: 'metric',
        metrics: [{ op: 'max', field: 'service.latency.p95', label: 'Latency p95', format: 'duration-ms' }],
        w: 12,
      },
      {
        id: 'overview-degraded-windows',
        title: 'Windows below a performance bound',
        dataView: 'performance',
        viz: 'bar',
        query: `${MODEL_SCOPE} and performance.degraded: true`,
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.name', size: 10 },
        metrics: [{ op: 'count', label: 'Degraded windows' }],
      },
    ],
  },
  {
    key: 'drift',
    title: 'mlmon · Feature drift',
    question: 'Which features drift, since when, by how much, and by which statistic?',
    controlDataView: 'drift',
    controls: [...COMMON_CONTROLS, 'feature.name'],
    panels: [
      {
        id: 'drift-heatmap',
        // PSI rather than drift.score: the score is a p-value for KS / chi-square (smaller = more
        // drift) and a distance otherwise, so one colour scale cannot show both.
        title: 'Drift (PSI) per feature over time',
        dataView: 'drift',
        viz: 'heatmap',
        query: FEATURES_ONLY,
        x: { type: 'date' },
        split: { type: 'terms', field: 'feature.name', size: 30, label: 'Feature' },
        metrics: [{ op: 'max', field: 'drift.psi', label: 'PSI' }],
        w: 48,
        h: 15,
      },
      {
        id: 'drift-top-features',
        title: 'Top drifting features (PSI)',
        dataView: 'drift',
        viz: 'bar',
        query: FEATURES_ONLY,
        x: { type: 'terms', field: 'feature.name', size: 15, label: 'Feature' },
        metrics: [{ op: 'max', field: 'drift.psi', label: 'PSI' }],
      },
      {
        id: 'drift-detected-count',
        title: 'Drift decisions per feature',
        dataView: 'drift',
        viz: 'table',
        query: `${FEATURES_ONLY} and drift.detected: true`,
        x: { type: 'terms', field: 'feature.name', size: 50, label: 'Feature' },
        split: { type: 'terms', field: 'drift.method', size: 5, label: 'Method' },
        metrics: [
          { op: 'count', label: 'Windows with drift' },
          { op: 'max', field: 'drift.psi', label: 'Max PSI' },
        ],
      },
      {
        id: 'drift-statistics',
        title: 'PSI, KS, Wasserstein and Jensen–Shannon over time (choose a feature above)',
        dataView: 'drift',
        viz: 'line',
        query: FEATURES_ONLY,
        x: { type: 'date' },
        metrics: [
          { op: 'average', field: 'drift.psi', label: 'PSI' },
          { op: 'average', field: 'drift.ks', label: 'KS' },
          { op: 'average', field: 'drift.wasserstein', label: 'Wasserstein (normalised)' },
          { op: 'average', field: 'drift.js', label: 'Jensen–Shannon' },
        ],
        w: 48,
      },
    ],
  },
  {
    key: 'performance',
    title: 'mlmon · Model performance',
    question: 'How well does each version perform, realised where labels exist and estimated where not?',
    controlDataView: 'performance',
    controls: COMMON_CONTROLS,
    panels: [
      {
        id: 'performance-realised',
        title: 'Realised accuracy per version',
        dataView: 'performance',
        viz: 'line',
        query: MODEL_SCOPE,
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.version', size: 10 },
        metrics: [{ op: 'average', field: 'performance.accuracy', label: 'Accuracy', format: 'percent' }],
      },
      {
        id: 'performance-estimated',
        title: 'Estimated accuracy per version (CBPE)',
        dataView: 'performance',
        viz: 'line',
        query: MODEL_SCOPE,
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.version', size: 10 },
        metrics: [
          {
            op: 'average',
            field: 'performance.estimated.accuracy',
            label: 'Estimated accuracy',
            format: 'percent',
          },
        ],
      },
      {
        id: 'performance-coverage',
        title: 'Label coverage',
        dataView: 'performance',
        viz: 'line',
        query: MODEL_SCOPE,
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.version', size: 10 },
        metrics: [
          { op: 'average', field: 'performance.label_coverage', label: 'Label coverage', format: 'percent' },
        ],
      },
      {
        id: 'performance-confusion',
        title: 'Confusion matrix (binary)',
        dataView: 'performance',
        viz: 'table',
        query: MODEL_SCOPE,
        x: { type: 'terms', field: 'model.version', size: 10, label: 'Version' },
        metrics: [
          { op: 'sum', field: 'performance.confusion.tp', label: 'True positives' },
          { op: 'sum', field: 'performance.confusion.fp', label: 'False positives' },
          { op: 'sum', field: 'performance.confusion.fn', label: 'False negatives' },
          { op: 'sum', field: 'performance.confusion.tn', label: 'True negatives' },
        ],
      },
      {
        id: 'performance-segments',
        title: 'Accuracy by segment',
        dataView: 'performance',
        viz: 'table',
        query: 'performance.scope: "segment"',
        x: { type: 'terms', field: 'segment.name', size: 10, label: 'Segment' },
        split: { type: 'terms', field: 'segment.value', size: 20, label: 'Value' },
        metrics: [{ op: 'average', field: 'performance.accuracy', label: 'Accuracy', format: 'percent' }],
      },
      {
        id: 'performance-fairness',
        title: 'Fairness gaps by segment',
        dataView: 'performance',
        viz: 'line',
        query: 'performance.scope: "fairness"',
        x: { type: 'date' },
        split: { type: 'terms', field: 'segment.name', size: 10 },
        metrics: [
          { op: 'max', field: 'fairness.demographic_parity_difference', label: 'Demographic parity gap' },
          { op: 'max', field: 'fairness.equal_opportunity_difference', label: 'Equal opportunity gap' },
        ],
      },
      {
        id: 'performance-versions',
        title: 'Version comparison',
        dataView: 'performance',
        viz: 'table',
        query: MODEL_SCOPE,
        x: { type: 'terms', field: 'model.version', size: 20, label: 'Version' },
        metrics: [
          { op: 'average', field: 'performance.accuracy', label: 'Accuracy', format: 'percent' },
          { op: 'average', field: 'performance.f1', label: 'F1', format: 'percent' },
          { op: 'average', field: 'performance.roc_auc', label: 'ROC AUC' },
          { op: 'sum', field: 'performance.count', label: 'Labelled predictions' },
        ],
        w: 48,
      },
    ],
  },
  {
    key: 'quality',
    title: 'mlmon · Data quality',
    question:
      'Which features arrive missing, out of range, with unseen categories or the wrong type, and what was dead-lettered?',
    controlDataView: 'quality',
    controls: [...COMMON_CONTROLS, 'feature.name'],
    panels: [
      ...(
        [
          ['missing', 'quality.missing_rate', 'Missing rate'],
          ['out-of-range', 'quality.out_of_range_rate', 'Out-of-range rate'],
          ['unseen', 'quality.unseen_category_rate', 'Unseen-category rate'],
          ['type-mismatch', 'quality.type_mismatch_rate', 'Type-mismatch rate'],
        ] as const
      ).map(([slug, field, label]): LensPanel => ({
        id: `quality-${slug}`,
        title: `${label} by feature`,
        dataView: 'quality',
        viz: 'line',
        x: { type: 'date' },
        split: { type: 'terms', field: 'feature.name', size: 10 },
        metrics: [{ op: 'max', field, label, format: 'percent' }],
      })),
      {
        id: 'quality-deadletters',
        title: 'Dead-lettered events',
        dataView: 'deadletter',
        viz: 'bar',
        x: { type: 'date' },
        split: { type: 'terms', field: 'error.type', size: 10 },
        metrics: [{ op: 'count', label: 'Dead letters' }],
      },
      {
        id: 'quality-deadletter-reasons',
        title: 'Dead-letter reasons',
        dataView: 'deadletter',
        viz: 'table',
        x: { type: 'terms', field: 'error.reason', size: 20, label: 'Reason' },
        split: { type: 'terms', field: 'deadletter.stage', size: 5, label: 'Stage' },
        metrics: [{ op: 'count', label: 'Events' }],
      },
    ],
  },
  {
    key: 'service',
    title: 'mlmon · Service health',
    question: 'Is the model service fast, busy, failing or short of CPU and memory?',
    controlDataView: 'service',
    controls: COMMON_CONTROLS,
    panels: [
      {
        id: 'service-latency',
        title: 'Latency percentiles',
        dataView: 'service',
        viz: 'line',
        x: { type: 'date' },
        metrics: [
          { op: 'max', field: 'service.latency.p50', label: 'p50', format: 'duration-ms' },
          { op: 'max', field: 'service.latency.p95', label: 'p95', format: 'duration-ms' },
          { op: 'max', field: 'service.latency.p99', label: 'p99', format: 'duration-ms' },
        ],
        w: 48,
      },
      {
        id: 'service-throughput',
        title: 'Throughput (predictions per minute)',
        dataView: 'service',
        viz: 'line',
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.version', size: 10 },
        metrics: [{ op: 'average', field: 'service.throughput', label: 'Per minute' }],
      },
      {
        id: 'service-errors',
        title: 'Error rate',
        dataView: 'service',
        viz: 'line',
        x: { type: 'date' },
        split: { type: 'terms', field: 'model.version', size: 10 },
        metrics: [{ op: 'max', field: 'service.error_rate', label: 'Error rate', format: 'percent' }],
      },
      {
        id: 'service-cpu',
        title: 'Process CPU',
        dataView: 'service',
        viz: 'line',
        x: { type: 'date' },
        split: { type: 'terms', field: 'host.name', size: 10 },
        metrics: [{ op: 'average', field: 'process.cpu.pct', label: 'CPU', format: 'percent' }],
        w: 16,
      },
      {
        id: 'service-memory',
        title: 'Process memory (RSS)',
        dataView: 'service',
        viz: 'line',
        x: { type: 'date' },
        split: { type: 'terms', field: 'host.name', size: 10 },
        metrics: [{ op: 'max', field: 'process.memory.rss', label: 'RSS', format: 'bytes' }],
        w: 16,
      },
      {
        id: 'service-event-loop',
        title: 'Event-loop lag',
        dataView: 'service',
        viz: 'line',
        x: { type: 'date' },
        split: { type: 'terms', field: 'host.name', size: 10 },
        metrics: [{ op: 'max', field: 'process.event_loop.lag_ms', label: 'Lag', format: 'duration-ms' }],
        w: 16,
      },
    ],
  },
];

/**
 * Panels whose fields nothing in mlmon writes yet: the logger does not sample process CPU, memory
 * or event-loop lag into the service stream (DESIGN.md announces it). They stay on the dashboard
 * so that the samples show up once written; the data test names them instead of skipping silently.
 */
export const PANELS_AWAITING_WRITERS = ['service-cpu', 'service-memory', 'service-event-loop'];

function controlId(dashboard: DashboardKey, field: string): string {
  return `${dashboard}-control-${field.replace(/[^a-z0-9]+/gi, '-')}`;
}

/** The navigation panel linking the five dashboards (a `links` saved object). */
export function linksObject(): SavedObject {
  const links = DASHBOARDS.map((d, order) => ({
    id: `link-${d.key}`,
    type: 'dashboardLink',
    order,
    destinationRefName: `link_link-${d.key}_dashboard`,
    options: { openInNewTab: false, useCurrentDateRange: true, useCurrentFilters: true },
  }));
  return savedObject(
    'links',
    LINKS_ID,
    { title: 'mlmon dashboards', description: '', layout: 'horizontal', links },
    DASHBOARDS.map((d) => ({
      name: `link_link-${d.key}_dashboard`,
      type: 'dashboard',
      id: dashboardId(d.key),
    })),
  );
}

interface PlacedPanel {
  panelIndex: string;
  type: 'lens' | 'links';
  refId: string;
  w: number;
  h: number;
}

/** Panels placed left to right, top to bottom on Kibana's 48-column grid. */
function layout(panels: PlacedPanel[]): Array<Record<string, unknown>> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((p) => {
    if (x + p.w > 48) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridData = { x, y, w: p.w, h: p.h, i: p.panelIndex };
    x += p.w;
    rowHeight = Math.max(rowHeight, p.h);
    return {
      type: p.type,
      gridData,
      panelIndex: p.panelIndex,
      embeddableConfig: { enhancements: {} },
      panelRefName: `panel_${p.panelIndex}`,
    };
  });
}

export function dashboardObject(d: DashboardSpec): SavedObject {
  const placed: PlacedPanel[] = [
    { panelIndex: `${d.key}-links`, type: 'links', refId: LINKS_ID, w: 48, h: 3 },
    ...d.panels.map((p) => ({
      panelIndex: p.id,
      type: 'lens' as const,
      refId: lensId(p),
      w: p.w ?? 24,
      h: p.h ?? 12,
    })),
  ];
  const references: Reference[] = placed.map((p) => ({
    name: `${p.panelIndex}:panel_${p.panelIndex}`,
    type: p.type,
    id: p.refId,
  }));
  const controls: Record<string, unknown> = {};
  d.controls.forEach((field, order) => {
    const id = controlId(d.key, field);
    controls[id] = {
      type: 'optionsListControl',
      order,
      grow: true,
      width: 'medium',
      explicitInput: {
        id,
        fieldName: field,
        title: field,
        selectedOptions: [],
        searchTechnique: 'prefix',
        sort: { by: '_count', direction: 'desc' },
      },
    };
    references.push({
      name: `controlGroup_${id}:optionsListDataView`,
      type: 'index-pattern',
      id: dataViewId(d.controlDataView),
    });
  });
  return savedObject(
    'dashboard',
    dashboardId(d.key),
    {
      title: d.title,
      description: d.question,
      version: 1,
      timeRestore: true,
      timeFrom: 'now-7d',
      timeTo: 'now',
      refreshInterval: { pause: true, value: 60000 },
      optionsJSON: JSON.stringify({
        useMargins: true,
        syncColors: false,
        syncCursor: true,
        syncTooltips: false,
        hidePanelTitles: false,
      }),
      panelsJSON: JSON.stringify(layout(placed)),
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }),
      },
      controlGroupInput: {
        chainingSystem: 'HIERARCHICAL',
        controlStyle: 'oneLine',
        showApplySelections: false,
        ignoreParentSettingsJSON: JSON.stringify({
          ignoreFilters: false,
          ignoreQuery: false,
          ignoreTimerange: false,
          ignoreValidations: false,
        }),
        panelsJSON: JSON.stringify(controls),
      },
    },
    references,
  );
}

/**
 * A link to a dashboard filtered to one model (rison `_a` state with a KQL query), for rule
 * messages. `model` may be a Mustache placeholder; single quotes are rison's string delimiter and
 * are escaped with `!` as rison requires.
 */
export function dashboardUrl(kibanaBase: string, key: DashboardKey, model: string): string {
  const kql = `model.name:"${model}"`.replace(/!/g, '!!').replace(/'/g, "!'");
  const base = kibanaBase.replace(/\/$/, '');
  return `${base}/app/dashboards#/view/${dashboardId(key)}?_a=(query:(language:kuery,query:'${encodeURIComponent(kql).replace(/%7B/g, '{').replace(/%7D/g, '}')}'))`;
}

/** Every saved object in import order: data views, lens visualizations, links, dashboards. */
export function allPanels(): LensPanel[] {
  return DASHBOARDS.flatMap((d) => d.panels);
}
