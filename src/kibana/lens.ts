/**
 * Lens visualizations from a small specification: one data view, an optional KQL query, up to two
 * bucket dimensions and one or more metrics. The specification is what the tests turn into the
 * equivalent Elasticsearch request (test/kibana/lens-request.ts), so a panel and its proof come
 * from the same source. The Lens state written follows Kibana's `formBased` datasource as exported
 * by Kibana 8.x (columns with operationType, sourceField, dataType, isBucketed, scale, params).
 */
import {
  dataViewId,
  fieldFormatEntry,
  savedObject,
  type DataViewKind,
  type FieldFormat,
  type SavedObject,
} from './saved-objects.js';

export type Bucket =
  { type: 'date'; label?: string } | { type: 'terms'; field: string; size: number; label?: string };

export type MetricOp = 'count' | 'average' | 'max' | 'min' | 'sum' | 'median' | 'percentile';

export interface Metric {
  op: MetricOp;
  /** Not for `count`. */
  field?: string;
  label: string;
  percentile?: number;
  format?: FieldFormat;
}

export type LensViz = 'line' | 'bar' | 'metric' | 'heatmap' | 'table';

export interface LensPanel {
  /** Stable slug; the saved object id is `mlmon-lens-<id>`. */
  id: string;
  title: string;
  description?: string;
  dataView: DataViewKind;
  viz: LensViz;
  /** KQL restricting the documents (the subset kuery.ts translates). */
  query?: string;
  /** X axis (line, bar, heatmap) or rows (table). */
  x?: Bucket;
  /** Series split (line, bar), heatmap Y axis, or second row level (table). */
  split?: Bucket;
  metrics: Metric[];
  /** Grid size on the dashboard (48 columns). */
  w?: number;
  h?: number;
}

export function lensId(panel: LensPanel): string {
  return `mlmon-lens-${panel.id}`;
}

const LAYER = 'layer1';
const colX = 'x';
const colSplit = 'split';
const colMetric = (i: number) => `m${i}`;

function bucketColumn(b: Bucket, orderBy: string): Record<string, unknown> {
  if (b.type === 'date') {
    return {
      label: b.label ?? '@timestamp',
      dataType: 'date',
      operationType: 'date_histogram',
      sourceField: '@timestamp',
      isBucketed: true,
      scale: 'interval',
      params: { interval: 'auto', includeEmptyRows: true, dropPartials: false },
    };
  }
  return {
    label: b.label ?? `Top ${b.size} values of ${b.field}`,
    customLabel: b.label !== undefined,
    dataType: 'string',
    operationType: 'terms',
    sourceField: b.field,
    isBucketed: true,
    scale: 'ordinal',
    params: {
      size: b.size,
      orderBy: { type: 'column', columnId: orderBy },
      orderDirection: 'desc',
      otherBucket: false,
      missingBucket: false,
      parentFormat: { id: 'terms' },
    },
  };
}

function metricColumn(m: Metric): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  if (m.format) params.format = fieldFormatEntry(m.format);
  if (m.op === 'percentile') params.percentile = m.percentile ?? 95;
  return {
    label: m.label,
    customLabel: true,
    dataType: 'number',
    operationType: m.op,
    sourceField: m.op === 'count' ? '___records___' : m.field,
    isBucketed: false,
    scale: 'ratio',
    params,
  };
}

function visualization(p: LensPanel): { type: string; state: Record<string, unknown> } {
  const accessors = p.metrics.map((_, i) => colMetric(i));
  switch (p.viz) {
    case 'line':
    case 'bar':
      return {
        type: 'lnsXY',
        state: {
          legend: { isVisible: true, position: 'right' },
          valueLabels: 'hide',
          preferredSeriesType: p.viz === 'line' ? 'line' : 'bar',
          fittingFunction: 'None',
          layers: [
            {
              layerId: LAYER,
              layerType: 'data',
              seriesType: p.viz === 'line' ? 'line' : 'bar',
              accessors,
              ...(p.x ? { xAccessor: colX } : {}),
              ...(p.split ? { splitAccessor: colSplit } : {}),
            },
          ],
        },
      };
    case 'metric':
      return {
        type: 'lnsMetric',
        state: { layerId: LAYER, layerType: 'data', metricAccessor: colMetric(0) },
      };
    case 'heatmap':
      return {
        type: 'lnsHeatmap',
        state: {
          shape: 'heatmap',
          layerId: LAYER,
          layerType: 'data',
          xAccessor: colX,
          yAccessor: colSplit,
          valueAccessor: colMetric(0),
          legend: { isVisible: true, position: 'right', type: 'heatmap_legend' },
          gridConfig: {
            type: 'heatmap_grid',
            isCellLabelVisible: false,
            isYAxisLabelVisible: true,
            isXAxisLabelVisible: true,
            isYAxisTitleVisible: false,
            isXAxisTitleVisible: false,
          },
        },
      };
    case 'table':
      return {
        type: 'lnsDatatable',
        state: {
          layerId: LAYER,
          layerType: 'data',
          columns: [...(p.x ? [colX] : []), ...(p.split ? [colSplit] : []), ...accessors].map((columnId) => ({
            columnId,
          })),
        },
      };
  }
}

/** Checks that the specification fits its visualization type; throws with the panel id otherwise. */
export function checkPanel(p: LensPanel): void {
  const fail = (why: string) => {
    throw new Error(`lens panel ${p.id}: ${why}`);
  };
  if (p.metrics.length === 0) fail('needs a metric');
  for (const m of p.metrics) if (m.op !== 'count' && !m.field) fail(`${m.op} needs a field`);
  if (p.viz === 'metric' && (p.x || p.split || p.metrics.length !== 1)) fail('a metric shows one value');
  if (p.viz === 'heatmap' && (!p.x || !p.split || p.metrics.length !== 1))
    fail('a heatmap needs x, y and one value');
  if ((p.viz === 'line' || p.viz === 'bar') && !p.x) fail('an XY chart needs an x axis');
  if (p.viz === 'table' && !p.x) fail('a table needs rows');
}

/** The `lens` saved object of a panel, referencing its data view. */
export function lensObject(p: LensPanel): SavedObject {
  checkPanel(p);
  const columns: Record<string, unknown> = {};
  const columnOrder: string[] = [];
  if (p.x) {
    columns[colX] = bucketColumn(p.x, colMetric(0));
    columnOrder.push(colX);
  }
  if (p.split) {
    columns[colSplit] = bucketColumn(p.split, colMetric(0));
    columnOrder.push(colSplit);
  }
  p.metrics.forEach((m, i) => {
    columns[colMetric(i)] = metricColumn(m);
    columnOrder.push(colMetric(i));
  });
  const vis = visualization(p);
  return savedObject(
    'lens',
    lensId(p),
    {
      title: p.title,
      description: p.description ?? '',
      visualizationType: vis.type,
      state: {
        datasourceStates: {
          formBased: { layers: { [LAYER]: { columns, columnOrder, incompleteColumns: {} } } },
        },
        visualization: vis.state,
        query: { language: 'kuery', query: p.query ?? '' },
        filters: [],
        internalReferences: [],
        adHocDataViews: {},
      },
    },
    [{ type: 'index-pattern', id: dataViewId(p.dataView), name: `indexpattern-datasource-layer-${LAYER}` }],
  );
}
