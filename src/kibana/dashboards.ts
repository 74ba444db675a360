/**
 * mlmon's five dashboards as data: which panels each has, on which stream, with which query. The
 * saved objects (lens, links, dashboard) are generated from these specifications by
 * {@link dashboardObjects}; the tests run each panel's equivalent Elasticsearch request on result
 * documents written by the real analyzer.
 */
import { DATASET_FEATURE } from '../analyzer/results.js';
import { lensId, type Bucket, type LensPanel, type Metric, type MetricOp } from './lens.js';
import {
  dataViewId,
  savedObject,
  type DataViewKind,
  type FieldFormat,
  type Reference,
  type SavedObject,
} from './saved-objects.js';
import { DISTRIBUTION_PANEL, vegaId, type VegaPanel } from './vega.js';

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

export const LINKS_ID = 'mlmon-links-dashboards';

/** Options-list controls every dashboard has: model, version, namespace. */
export const COMMON_CONTROLS = ['model.name', 'model.version', 'data_stream.namespace'];

/** Model inputs only: not the dataset summary, the prediction, the target or explanations. */
const FEATURES_ONLY = 'feature.role: "feature"';
const DATASET_ONLY = `feature.name: "${DATASET_FEATURE}"`;
const MODEL_SCOPE = 'performance.scope: "model"';

/** A metric column: `op` of `field` (no field for `count`), labelled, optionally formatted. */
function metric(op: MetricOp, field: string | undefined, label: string, format?: FieldFormat): Metric {
  return { op, ...(field !== undefined ? { field } : {}), label, ...(format ? { format } : {}) };
}

const terms = (field: string, size: number, label?: string): Bucket => ({
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
function overTime(
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
function tile(id: string, title: string, dataView: DataViewKind, m: Metric, query?: string): LensPanel {
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
function byTerms(
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

const byModel = terms('model.name', 10);
const byVersion = terms('model.version', 10);
const byHost = terms('host.name', 10);
const byFeature = terms('feature.name', 10);

const QUALITY_RATES = [
  ['missing', 'quality.missing_rate', 'Missing rate'],
  ['out-of-range', 'quality.out_of_range_rate', 'Out-of-range rate'],
  ['unseen', 'quality.unseen_category_rate', 'Unseen-category rate'],
  ['type-mismatch', 'quality.type_mismatch_rate', 'Type-mismatch rate'],
] as const;

/** Model-level rates over time, one line per version: slug, title, field, label. */
const PER_VERSION = [
  ['realised', 'Realised accuracy per version', 'performance.accuracy', 'Accuracy'],
  [
    'estimated',
    'Estimated accuracy per version (CBPE)',
    'performance.estimated.accuracy',
    'Estimated accuracy',
  ],
  ['coverage', 'Label coverage', 'performance.label_coverage', 'Label coverage'],
] as const;

export const DASHBOARDS: readonly DashboardSpec[] = [
  {
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
  },
  {
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
    ],
    vega: [DISTRIBUTION_PANEL],
  },
  {
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
  },
  {
    key: 'service',
    title: 'mlmon · Service health',
    question: 'Is the model service fast, busy, failing or short of CPU and memory?',
    controlDataView: 'service',
    controls: COMMON_CONTROLS,
    panels: [
      overTime(
        'service-latency',
        'Latency percentiles',
        'service',
        [
          metric('max', 'service.latency.p50', 'p50', 'duration-ms'),
          metric('max', 'service.latency.p95', 'p95', 'duration-ms'),
          metric('max', 'service.latency.p99', 'p99', 'duration-ms'),
        ],
        { w: 48 },
      ),
      overTime(
        'service-throughput',
        'Throughput (predictions per minute)',
        'service',
        [metric('average', 'service.throughput', 'Per minute')],
        { by: byVersion },
      ),
      overTime(
        'service-errors',
        'Error rate',
        'service',
        [metric('max', 'service.error_rate', 'Error rate', 'percent')],
        { by: byVersion },
      ),
      // Resource samples of the service processes (the logger's `sampleResources`), one series per host.
      overTime(
        'service-cpu',
        'Process CPU',
        'process',
        [metric('average', 'process.cpu.pct', 'CPU', 'percent')],
        {
          by: byHost,
          w: 16,
        },
      ),
      overTime(
        'service-memory',
        'Process memory (RSS)',
        'process',
        [metric('max', 'process.memory.rss', 'RSS', 'bytes')],
        { by: byHost, w: 16 },
      ),
      overTime(
        'service-event-loop',
        'Event-loop lag',
        'process',
        [metric('max', 'process.event_loop.lag_ms', 'Lag', 'duration-ms')],
        { by: byHost, w: 16 },
      ),
    ],
  },
];

/**
 * Panels whose fields nothing in mlmon writes yet; the data test names them instead of skipping
 * silently. Empty since the logger samples process CPU, memory and event-loop lag.
 */
export const PANELS_AWAITING_WRITERS: readonly string[] = [];

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
  type: 'lens' | 'visualization' | 'links';
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
    ...(d.vega ?? []).map((p) => ({
      panelIndex: p.id,
      type: 'visualization' as const,
      refId: vegaId(p),
      w: p.w ?? 48,
      h: p.h ?? 15,
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

/** Every Lens panel of every dashboard. */
export function allPanels(): LensPanel[] {
  return DASHBOARDS.flatMap((d) => d.panels);
}

/** Every Vega panel of every dashboard. */
export function allVegaPanels(): VegaPanel[] {
  return DASHBOARDS.flatMap((d) => d.vega ?? []);
}
