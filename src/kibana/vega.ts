/**
 * The one chart Lens cannot draw: a feature's reference distribution against the current window's,
 * bin by bin, from the `drift.bins` the analyzer stores in each drift result (reference deciles for
 * numeric features, categories for categorical ones). A Kibana Vega visualization (saved-object type
 * `visualization`, visState type `vega`) with a Vega-Lite spec whose data is an Elasticsearch query
 * in Kibana's conventions: `%context%: true` puts the dashboard's query, filters and controls in,
 * `%timefield%` adds the time picker's range on that field, and the body must then have no `query`
 * of its own (Kibana refuses both together). Read from elastic/kibana
 * `src/platform/plugins/private/vis_types/vega/public/data_model/es_query_parser.ts` (commit
 * 012f5d9816b732c149d5896e6a758922d72454a3); Kibana 8.19 ships Vega-Lite 5.
 *
 * Since the stored query cannot filter, the spec keeps drift results that carry bins, then the
 * latest window of each feature, in its own transforms.
 */
import { streamPattern } from '../schema/streams.js';
import { savedObject, type SavedObject } from './saved-objects.js';

export interface VegaPanel {
  /** Stable slug; the saved object id is `mlmon-vega-<id>`. */
  id: string;
  title: string;
  description: string;
  /** The Vega-Lite spec, as Kibana stores it (a JSON string in visState.params.spec). */
  spec: Record<string, unknown>;
  w?: number;
  h?: number;
}

export function vegaId(panel: VegaPanel): string {
  return `mlmon-vega-${panel.id}`;
}

/** Hits one dashboard load reads: the latest windows of up to a few hundred features. */
const HITS = 1000;

/** Reference against current distribution, one small chart per feature (pick one with the feature control). */
export const DISTRIBUTION_PANEL: VegaPanel = {
  id: 'drift-distribution',
  title: 'Reference against current distribution (latest window in the time range)',
  description:
    'Share of the reference and of the latest analysed window per bin: reference deciles for numeric features, categories for categorical ones. Choose a feature with the feature.name control.',
  w: 48,
  h: 16,
  spec: {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: {
      url: {
        '%context%': true,
        '%timefield%': '@timestamp',
        index: streamPattern('drift'),
        body: {
          size: HITS,
          sort: [{ '@timestamp': { order: 'desc' } }],
          _source: [
            '@timestamp',
            'model.name',
            'model.version',
            'feature.name',
            'drift.method',
            'drift.bins',
          ],
        },
      },
      format: { property: 'hits.hits' },
    },
    transform: [
      { filter: 'isValid(datum._source.drift) && isArray(datum._source.drift.bins)' },
      { calculate: 'datum._source.feature.name', as: 'feature' },
      { calculate: "toDate(datum._source['@timestamp'])", as: 'time' },
      { joinaggregate: [{ op: 'max', field: 'time', as: 'latest' }], groupby: ['feature'] },
      { filter: 'datum.time === datum.latest' },
      { flatten: ['_source.drift.bins'], as: ['bin'] },
      { calculate: 'datum.bin.label', as: 'bin_label' },
      { calculate: 'datum.bin.order', as: 'bin_order' },
      { calculate: 'datum.bin.reference', as: 'Reference' },
      { calculate: 'datum.bin.current', as: 'Current window' },
      { fold: ['Reference', 'Current window'], as: ['distribution', 'share'] },
    ],
    facet: { field: 'feature', type: 'nominal', title: null },
    columns: 3,
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 260,
      height: 140,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: {
          field: 'bin_label',
          type: 'ordinal',
          sort: { field: 'bin_order', op: 'min' },
          title: null,
          axis: { labelAngle: -40 },
        },
        xOffset: { field: 'distribution' },
        y: { field: 'share', type: 'quantitative', axis: { format: '.0%' }, title: 'Share' },
        color: { field: 'distribution', type: 'nominal', title: null },
      },
    },
  },
};

/** The `visualization` saved object of a Vega panel, as Kibana 8.x exports one. */
export function vegaObject(p: VegaPanel): SavedObject {
  return savedObject(
    'visualization',
    vegaId(p),
    {
      title: p.title,
      description: p.description,
      uiStateJSON: '{}',
      version: 1,
      visState: JSON.stringify({
        title: p.title,
        type: 'vega',
        aggs: [],
        params: { spec: JSON.stringify(p.spec, null, 2) },
      }),
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }),
      },
    },
    [],
  );
}
