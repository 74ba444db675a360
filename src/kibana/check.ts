/**
 * Structural checks of saved objects, rules and connectors: the fields and types Kibana's import
 * and HTTP APIs require, as read from Kibana's own source and published spec (kibana/README.md
 * names the files and commits). No Kibana runs here, so this checker stands in for Kibana's
 * validation; it is itself tested against real Kibana exports (test/kibana/fixtures/).
 * Each function returns a list of problems (empty when the object is acceptable).
 *
 * Length: about 450 lines: one checker per saved-object kind, read together; Kibana's schema facts
 * are already apart (kibana-schemas.ts).
 */

import { CORE_MIGRATION_VERSION, KIBANA_KEYS, TYPE_MIGRATION_VERSIONS } from './kibana-schemas.js';

export { CORE_MIGRATION_VERSION, KIBANA_KEYS, TYPE_MIGRATION_VERSIONS } from './kibana-schemas.js';

type Json = Record<string, unknown>;

function unknownKeys(o: Json, allowed: readonly string[], where: string, p: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) p.push(`${where}: unknown key ${k}`);
}

const semver = (v: unknown): v is string => isString(v) && /^\d+\.\d+\.\d+$/.test(v);
const newer = (a: string, b: string) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number)) as [number[], number[]];
  for (let i = 0; i < 3; i++)
    if ((x[i] as number) !== (y[i] as number)) return (x[i] as number) > (y[i] as number);
  return false;
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';

function parseJsonString(v: unknown, where: string, problems: string[]): unknown {
  if (!isString(v)) {
    problems.push(`${where} must be a JSON string`);
    return undefined;
  }
  try {
    return JSON.parse(v);
  } catch {
    problems.push(`${where} is not valid JSON`);
    return undefined;
  }
}

/** Lens visualization types that ship with Kibana 8.19. */
export const LENS_VISUALIZATION_TYPES = new Set([
  'lnsXY',
  'lnsMetric',
  'lnsLegacyMetric',
  'lnsDatatable',
  'lnsHeatmap',
  'lnsPie',
  'lnsGauge',
  'lnsTagcloud',
  'lnsMosaic',
  'lnsWaffle',
  'lnsChoropleth',
]);

function checkIndexPattern(o: Json, p: string[]): void {
  const a = o.attributes as Json;
  if (!isString(a.title) || a.title === '')
    p.push('index-pattern: attributes.title must be a non-empty string');
  if (a.timeFieldName !== undefined && !isString(a.timeFieldName))
    p.push('index-pattern: timeFieldName must be a string');
  if (a.fieldFormatMap !== undefined) {
    const formats = parseJsonString(a.fieldFormatMap, 'index-pattern: fieldFormatMap', p);
    if (formats !== undefined && !isObject(formats))
      p.push('index-pattern: fieldFormatMap must hold an object');
    if (isObject(formats))
      for (const [field, f] of Object.entries(formats))
        if (!isObject(f) || !isString(f.id)) p.push(`index-pattern: format of ${field} needs an id`);
  }
  for (const key of ['fields', 'runtimeFieldMap', 'sourceFilters', 'fieldAttrs'])
    if (a[key] !== undefined) parseJsonString(a[key], `index-pattern: ${key}`, p);
}

function checkLens(o: Json, p: string[]): void {
  const a = o.attributes as Json;
  if (!isString(a.title)) p.push('lens: attributes.title must be a string');
  if (!isString(a.visualizationType) || !LENS_VISUALIZATION_TYPES.has(a.visualizationType))
    p.push(`lens: unknown visualizationType ${String(a.visualizationType)}`);
  const state = a.state;
  if (!isObject(state)) {
    p.push('lens: attributes.state must be an object');
    return;
  }
  if (!isObject(state.visualization)) p.push('lens: state.visualization must be an object');
  const q = state.query as Json | undefined;
  if (!isObject(q) || !isString(q.language) || !isString(q.query))
    p.push('lens: state.query needs language and query strings');
  if (!Array.isArray(state.filters)) p.push('lens: state.filters must be an array');
  const ds = state.datasourceStates as Json | undefined;
  const formBased = (ds?.formBased ?? ds?.indexpattern) as Json | undefined;
  if (!isObject(formBased) || !isObject(formBased.layers)) {
    p.push('lens: state.datasourceStates.formBased.layers missing');
    return;
  }
  const refs = (o.references as Json[]) ?? [];
  for (const [layerId, layer] of Object.entries(formBased.layers)) {
    if (!isObject(layer) || !isObject(layer.columns) || !Array.isArray(layer.columnOrder)) {
      p.push(`lens: layer ${layerId} needs columns and columnOrder`);
      continue;
    }
    for (const id of layer.columnOrder)
      if (!isString(id) || !(id in layer.columns))
        p.push(`lens: layer ${layerId} orders unknown column ${String(id)}`);
    for (const [colId, col] of Object.entries(layer.columns)) {
      if (!isObject(col)) continue;
      if (!isString(col.operationType)) p.push(`lens: column ${colId} needs operationType`);
      if (!isString(col.dataType)) p.push(`lens: column ${colId} needs dataType`);
      if (typeof col.isBucketed !== 'boolean') p.push(`lens: column ${colId} needs isBucketed`);
      if (!isString(col.label)) p.push(`lens: column ${colId} needs a label`);
      const fieldless = ['formula', 'math', 'static_value', 'range', 'filters'].includes(
        String(col.operationType),
      );
      if (!fieldless && !isString(col.sourceField)) p.push(`lens: column ${colId} needs sourceField`);
    }
    const ref = `indexpattern-datasource-layer-${layerId}`;
    if (!refs.some((r) => r.name === ref && r.type === 'index-pattern'))
      p.push(`lens: layer ${layerId} has no index-pattern reference ${ref}`);
  }
}

/**
 * A `visualization` saved object (mlmon writes only Vega ones): visState a JSON string with a type
 * and params; for `vega`, params.spec parses (mlmon writes JSON, a subset of the HJSON Kibana
 * reads) and each Elasticsearch data source follows es_query_parser.ts: an `index`, and no
 * `body.query` together with `%context%` / `%timefield%` (Kibana refuses that combination).
 */
function checkVisualization(o: Json, p: string[]): void {
  const a = o.attributes as Json;
  if (!isString(a.title)) p.push('visualization: attributes.title must be a string');
  const vis = parseJsonString(a.visState, 'visualization: visState', p);
  if (vis === undefined) return;
  if (!isObject(vis) || !isString(vis.type) || !isObject(vis.params)) {
    p.push('visualization: visState needs type and params');
    return;
  }
  if (vis.type !== 'vega') return;
  const spec = parseJsonString(vis.params.spec, 'visualization: params.spec', p);
  if (spec === undefined) return;
  if (!isObject(spec)) {
    p.push('visualization: params.spec must hold an object');
    return;
  }
  const data = Array.isArray(spec.data) ? spec.data : spec.data === undefined ? [] : [spec.data];
  for (const d of data as unknown[]) {
    const url = isObject(d) ? d.url : undefined;
    if (!isObject(url)) continue; // inline values or a named data set
    if (!isString(url.index) || url.index === '') p.push('vega: an Elasticsearch data url needs index');
    const body = url.body;
    if (body !== undefined && !isObject(body)) p.push('vega: url.body must be an object');
    const usesContext = url['%context%'] !== undefined || url['%timefield%'] !== undefined;
    if (usesContext && isObject(body) && body.query !== undefined)
      p.push('vega: %context% / %timefield% must not be used with url.body.query');
    if (url['%timefield%'] !== undefined && !isString(url['%timefield%']))
      p.push('vega: %timefield% must be a field name');
  }
  if (!isObject(a.kibanaSavedObjectMeta))
    p.push('visualization: kibanaSavedObjectMeta.searchSourceJSON missing');
  else
    parseJsonString((a.kibanaSavedObjectMeta as Json).searchSourceJSON, 'visualization: searchSourceJSON', p);
}

function checkDashboard(o: Json, p: string[]): void {
  const a = o.attributes as Json;
  if (!isString(a.title)) p.push('dashboard: attributes.title must be a string');
  unknownKeys(a, KIBANA_KEYS.dashboardAttributes, 'dashboard: attributes (Kibana 8.19 schema)', p);
  const refs = (o.references as Json[]) ?? [];
  const panels = parseJsonString(a.panelsJSON, 'dashboard: panelsJSON', p);
  if (panels !== undefined && !Array.isArray(panels)) p.push('dashboard: panelsJSON must hold an array');
  if (Array.isArray(panels)) {
    for (const panel of panels as Json[]) {
      const g = panel.gridData as Json | undefined;
      if (!isObject(g) || !['x', 'y', 'w', 'h'].every((k) => typeof g[k] === 'number') || !isString(g.i))
        p.push(`dashboard: panel ${String(panel.panelIndex)} needs gridData x, y, w, h, i`);
      else if ((g.x as number) + (g.w as number) > 48)
        p.push(`dashboard: panel ${String(panel.panelIndex)} exceeds 48 columns`);
      if (!isString(panel.panelIndex)) p.push('dashboard: panel needs panelIndex');
      if (!isString(panel.type)) p.push(`dashboard: panel ${String(panel.panelIndex)} needs a type`);
      if (isString(panel.panelRefName)) {
        const name = `${String(panel.panelIndex)}:${panel.panelRefName}`;
        if (!refs.some((r) => r.name === name)) p.push(`dashboard: panel reference ${name} missing`);
      } else if (!isObject(panel.embeddableConfig))
        p.push(`dashboard: panel ${String(panel.panelIndex)} is neither by reference nor by value`);
    }
  }
  if (a.optionsJSON !== undefined) parseJsonString(a.optionsJSON, 'dashboard: optionsJSON', p);
  const meta = a.kibanaSavedObjectMeta as Json | undefined;
  if (meta !== undefined)
    parseJsonString(meta.searchSourceJSON, 'dashboard: kibanaSavedObjectMeta.searchSourceJSON', p);
  const cg = a.controlGroupInput as Json | undefined;
  if (cg !== undefined) {
    const controls = parseJsonString(cg.panelsJSON, 'dashboard: controlGroupInput.panelsJSON', p);
    if (controls !== undefined && !isObject(controls))
      p.push('dashboard: controlGroupInput.panelsJSON must hold an object');
    if (isObject(controls))
      for (const [id, c] of Object.entries(controls)) {
        const input = (c as Json).explicitInput as Json | undefined;
        if (!isString((c as Json).type) || !isObject(input) || !isString(input.fieldName))
          p.push(`dashboard: control ${id} needs type and explicitInput.fieldName`);
        if (!input?.dataViewId && !refs.some((r) => r.name === `controlGroup_${id}:optionsListDataView`))
          p.push(`dashboard: control ${id} has no data view reference`);
      }
  }
}

function checkLinks(o: Json, p: string[]): void {
  const a = o.attributes as Json;
  const refs = (o.references as Json[]) ?? [];
  if (!Array.isArray(a.links)) {
    p.push('links: attributes.links must be an array');
    return;
  }
  for (const l of a.links as Json[]) {
    if (!isString(l.id) || !isString(l.type)) p.push('links: a link needs id and type');
    if (
      l.type === 'dashboardLink' &&
      !refs.some((r) => r.name === l.destinationRefName && r.type === 'dashboard')
    )
      p.push(`links: link ${String(l.id)} has no dashboard reference ${String(l.destinationRefName)}`);
  }
}

/** Problems of one saved object as the import API would read it. */
export function checkSavedObject(o: unknown): string[] {
  const p: string[] = [];
  if (!isObject(o)) return ['not an object'];
  if (!isString(o.type) || o.type === '') p.push('type must be a non-empty string');
  if (!isString(o.id) || o.id === '') p.push('id must be a non-empty string');
  if (!isObject(o.attributes)) p.push('attributes must be an object');
  if (o.references !== undefined) {
    if (!Array.isArray(o.references)) p.push('references must be an array');
    else
      for (const r of o.references)
        if (!isObject(r) || !isString(r.name) || !isString(r.type) || !isString(r.id))
          p.push('each reference needs name, type and id strings');
  }
  const shapeProblems = p.length;
  // Export format of Kibana ≥ 8.8: `typeMigrationVersion` (what mlmon writes; test/kibana/
  // structure.test.ts holds mlmon's objects to TYPE_MIGRATION_VERSIONS); older exports carry a
  // `migrationVersion` map instead, which Kibana still imports. A version newer than 8.19's is
  // refused: the object comes from a newer Kibana.
  const legacy = o.migrationVersion;
  const typeVersion = isObject(legacy) ? legacy[String(o.type)] : o.typeMigrationVersion;
  if (legacy !== undefined && o.typeMigrationVersion !== undefined)
    p.push('give typeMigrationVersion or the older migrationVersion, not both');
  if (!semver(typeVersion)) p.push('typeMigrationVersion must be a version x.y.z');
  else {
    const known = TYPE_MIGRATION_VERSIONS[String(o.type)];
    if (known !== undefined && newer(typeVersion, known))
      p.push(`typeMigrationVersion ${typeVersion} is newer than Kibana 8.19's ${known}`);
  }
  if (!semver(o.coreMigrationVersion)) p.push('coreMigrationVersion must be a version x.y.z');
  else if (newer(o.coreMigrationVersion, CORE_MIGRATION_VERSION))
    p.push(`coreMigrationVersion ${o.coreMigrationVersion} is newer than ${CORE_MIGRATION_VERSION}`);
  if (o.managed !== undefined && typeof o.managed !== 'boolean') p.push('managed must be a boolean');
  if (shapeProblems > 0) return p.map((m) => `${String(o.type)}/${String(o.id)}: ${m}`);
  if (o.type === 'index-pattern') checkIndexPattern(o, p);
  else if (o.type === 'lens') checkLens(o, p);
  else if (o.type === 'visualization') checkVisualization(o, p);
  else if (o.type === 'dashboard') checkDashboard(o, p);
  else if (o.type === 'links') checkLinks(o, p);
  return p.map((m) => `${String(o.type)}/${String(o.id)}: ${m}`);
}

/** Parses NDJSON and checks every object, unique (type, id), and that every reference resolves. */
export function checkNdjson(
  text: string,
  external: ReadonlyArray<{ type: string; id: string }> = [],
): string[] {
  const problems: string[] = [];
  const objects: Json[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const o = JSON.parse(line) as unknown;
      if (isObject(o) && 'exportedCount' in o) return; // the export summary line
      problems.push(...checkSavedObject(o));
      if (isObject(o)) objects.push(o);
    } catch {
      problems.push(`line ${i + 1}: not JSON`);
    }
  });
  const keys = new Set<string>();
  for (const o of objects) {
    const key = `${String(o.type)}/${String(o.id)}`;
    if (keys.has(key)) problems.push(`${key}: duplicate id`);
    keys.add(key);
  }
  for (const e of external) keys.add(`${e.type}/${e.id}`);
  for (const o of objects)
    for (const r of (o.references as Json[] | undefined) ?? []) {
      if (!keys.has(`${String(r.type)}/${String(r.id)}`))
        problems.push(
          `${String(o.type)}/${String(o.id)}: reference ${String(r.name)} → ${String(r.type)}/${String(r.id)} does not resolve`,
        );
    }
  return problems;
}

const COMPARATORS = new Set(['>', '<', '>=', '<=', 'between', 'notBetween']);
const AGG_TYPES = new Set(['count', 'avg', 'min', 'max', 'sum']);
const TIME_UNITS = new Set(['s', 'm', 'h', 'd']);
/** MAX_GROUPS of triggers_actions_ui (a rule may group into at most this many terms). */
const MAX_GROUPS = 1000;
/** ES_QUERY_MAX_HITS_PER_EXECUTION of stack_alerts. */
const ES_QUERY_MAX_HITS = 10000;

function checkCommonQueryParams(params: Json, p: string[]): void {
  if (!isString(params.timeField) || params.timeField === '')
    p.push('params.timeField must be a non-empty string');
  if (typeof params.timeWindowSize !== 'number' || params.timeWindowSize < 1)
    p.push('params.timeWindowSize must be a number ≥ 1');
  if (!TIME_UNITS.has(String(params.timeWindowUnit))) p.push('params.timeWindowUnit must be s, m, h or d');
  if (!COMPARATORS.has(String(params.thresholdComparator)))
    p.push('params.thresholdComparator is not a known comparator');
  const t = params.threshold;
  if (!Array.isArray(t) || t.length < 1 || t.length > 2 || !t.every((x) => typeof x === 'number'))
    p.push('params.threshold must be an array of one or two numbers');
  else if (
    (params.thresholdComparator === 'between' || params.thresholdComparator === 'notBetween') &&
    t.length !== 2
  )
    p.push('params.threshold needs two numbers for between');
  const aggType = params.aggType ?? 'count';
  if (!AGG_TYPES.has(String(aggType))) p.push('params.aggType is not a known aggregation');
  if (aggType !== 'count' && !isString(params.aggField))
    p.push('params.aggField is required unless aggType is count');
  const groupBy = params.groupBy ?? 'all';
  if (groupBy !== 'all' && groupBy !== 'top') p.push('params.groupBy must be all or top');
  if (groupBy === 'top') {
    if (params.termField === undefined) p.push('params.termField is required when groupBy is top');
    if (typeof params.termSize !== 'number' || params.termSize < 1 || params.termSize > MAX_GROUPS)
      p.push(`params.termSize must be 1..${MAX_GROUPS} when groupBy is top`);
  }
}

/** Problems of a rule create body (POST /api/alerting/rule/{id}) for `.es-query` and `.index-threshold`. */
export function checkRule(rule: unknown): string[] {
  const p: string[] = [];
  if (!isObject(rule)) return ['rule: not an object'];
  if (!isString(rule.name) || rule.name === '') p.push('name must be a non-empty string');
  if (!isString(rule.consumer) || rule.consumer === '') p.push('consumer must be a non-empty string');
  const schedule = rule.schedule as Json | undefined;
  if (!isObject(schedule) || !isString(schedule.interval) || !/^\d+[smhd]$/.test(schedule.interval))
    p.push('schedule.interval must look like 5m');
  if (rule.tags !== undefined && (!Array.isArray(rule.tags) || !rule.tags.every(isString)))
    p.push('tags must be strings');
  const params = rule.params as Json | undefined;
  if (!isObject(params)) p.push('params must be an object');
  else if (rule.rule_type_id === '.es-query') {
    checkCommonQueryParams(params, p);
    unknownKeys(params, KIBANA_KEYS.esQueryParams, 'params', p);
    if ((params.searchType ?? 'esQuery') !== 'esQuery')
      p.push('params.searchType: only esQuery is used by mlmon');
    if (
      !Array.isArray(params.index) ||
      params.index.length < 1 ||
      !params.index.every((i) => isString(i) && i !== '')
    )
      p.push('params.index must be a non-empty array of index names');
    const q = parseJsonString(params.esQuery, 'params.esQuery', p);
    if (q !== undefined && (!isObject(q) || !isObject(q.query)))
      p.push('params.esQuery must contain "query"');
    if (typeof params.size !== 'number' || params.size < 0 || params.size > ES_QUERY_MAX_HITS)
      p.push(`params.size must be 0..${ES_QUERY_MAX_HITS}`);
    if (Array.isArray(params.termField) && (params.termField.length < 2 || !params.termField.every(isString)))
      p.push('params.termField as an array needs at least two field names');
  } else if (rule.rule_type_id === '.index-threshold') {
    checkCommonQueryParams(params, p);
    unknownKeys(params, KIBANA_KEYS.indexThresholdParams, 'params', p);
    const i = params.index;
    if (
      !(isString(i) && i !== '') &&
      !(Array.isArray(i) && i.length > 0 && i.every((x) => isString(x) && x !== ''))
    )
      p.push('params.index must be an index name or a non-empty array of them');
    if (params.termField !== undefined && !isString(params.termField))
      p.push('params.termField must be one field');
  } else p.push(`rule_type_id ${String(rule.rule_type_id)} is not one mlmon uses`);
  if (!Array.isArray(rule.actions)) p.push('actions must be an array');
  else
    for (const a of rule.actions as Json[]) {
      if (!isString(a.group) || !isString(a.id) || !isObject(a.params))
        p.push('each action needs group, id and params');
      const f = a.frequency as Json | undefined;
      if (
        f !== undefined &&
        (typeof f.summary !== 'boolean' ||
          !['onActiveAlert', 'onThrottleInterval', 'onActionGroupChange'].includes(String(f.notify_when)))
      )
        p.push('action frequency needs summary and a known notify_when');
    }
  return p.map((m) => `rule ${String(rule.id ?? rule.name)}: ${m}`);
}

/** Problems of a connector create body (POST /api/actions/connector/{id}). */
export function checkConnector(c: unknown): string[] {
  const p: string[] = [];
  if (!isObject(c)) return ['connector: not an object'];
  if (!isString(c.name) || c.name === '') p.push('name must be a non-empty string');
  if (!isObject(c.config)) p.push('config must be an object');
  if (c.secrets !== undefined && !isObject(c.secrets)) p.push('secrets must be an object');
  const config = (c.config ?? {}) as Json;
  if (c.connector_type_id === '.email') {
    unknownKeys(config, KIBANA_KEYS.emailConfig, '.email config', p);
    const secrets = (c.secrets ?? {}) as Json;
    unknownKeys(secrets, KIBANA_KEYS.emailSecrets, '.email secrets', p);
    // validateConnector: hasAuth (default true) needs user and password in the secrets.
    if (
      config.hasAuth !== false &&
      c.secrets !== undefined &&
      (!isString(secrets.user) || !isString(secrets.password))
    )
      p.push('.email with hasAuth needs secrets.user and secrets.password');
    if (!isString(config.from) || config.from === '') p.push('.email config.from is required');
    if (config.service === 'other' || config.service === undefined) {
      if (!isString(config.host)) p.push('.email config.host is required for service other');
      if (typeof config.port !== 'number') p.push('.email config.port is required for service other');
    }
    if (config.secure !== undefined && typeof config.secure !== 'boolean')
      p.push('.email config.secure must be boolean');
  } else if (c.connector_type_id === '.server-log') {
    if (Object.keys(config).length > 0) p.push('.server-log takes no config');
  } else p.push(`connector_type_id ${String(c.connector_type_id)} is not one mlmon uses`);
  return p.map((m) => `connector ${String(c.id ?? c.name)}: ${m}`);
}

/** Problems of an action's params for its connector type. */
export function checkActionParams(connectorType: string, params: Json): string[] {
  if (connectorType === '.server-log') {
    const p: string[] = [];
    unknownKeys(params, KIBANA_KEYS.serverLogParams, '.server-log params', p);
    if (!isString(params.message) || params.message === '') p.push('.server-log params.message is required');
    if (
      params.level !== undefined &&
      !['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(String(params.level))
    )
      p.push('.server-log params.level is not a log level');
    return p;
  }
  if (connectorType === '.email') {
    const p: string[] = [];
    unknownKeys(params, KIBANA_KEYS.emailParams, '.email params', p);
    // Kibana needs one address in to, cc or bcc; mlmon always sends to `to`.
    const to = params.to;
    if (!Array.isArray(to) || to.length === 0 || !to.every(isString))
      p.push('.email params.to must list addresses');
    if (!isString(params.subject) || !isString(params.message))
      p.push('.email params need subject and message');
    return p;
  }
  return [`unknown connector type ${connectorType}`];
}
