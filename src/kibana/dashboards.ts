/**
 * mlmon's five dashboards, one specification per file (dashboard-<key>.ts, built with panels.ts),
 * turned into saved objects here: the links panel, each dashboard with its controls and layout,
 * and the URL of a dashboard filtered to a model. The tests run each panel's equivalent
 * Elasticsearch request on result documents written by the real analyzer.
 */
import { DRIFT_DASHBOARD } from './dashboard-drift.js';
import { OVERVIEW_DASHBOARD } from './dashboard-overview.js';
import { PERFORMANCE_DASHBOARD } from './dashboard-performance.js';
import { QUALITY_DASHBOARD } from './dashboard-quality.js';
import { SERVICE_DASHBOARD } from './dashboard-service.js';
import { lensId, type LensPanel } from './lens.js';
import { dashboardId, type DashboardKey, type DashboardSpec } from './panels.js';
import { dataViewId, savedObject, type Reference, type SavedObject } from './saved-objects.js';
import { vegaId, type VegaPanel } from './vega.js';

export { COMMON_CONTROLS, dashboardId, type DashboardKey, type DashboardSpec } from './panels.js';

export const LINKS_ID = 'mlmon-links-dashboards';

export const DASHBOARDS: readonly DashboardSpec[] = [
  OVERVIEW_DASHBOARD,
  DRIFT_DASHBOARD,
  PERFORMANCE_DASHBOARD,
  QUALITY_DASHBOARD,
  SERVICE_DASHBOARD,
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
