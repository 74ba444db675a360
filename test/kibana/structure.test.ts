/**
 * Offline structure of mlmon's Kibana objects: the committed files are what the code generates, every
 * NDJSON line parses, ids are unique and stable, references resolve, and every saved object, rule and
 * connector has the fields and types Kibana requires (src/kibana/check.ts, derived from Kibana's
 * source: kibana/README.md). The checker itself is shown to accept a real Kibana export and to
 * reject broken copies of it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CORE_MIGRATION_VERSION,
  TYPE_MIGRATION_VERSIONS,
  checkActionParams,
  checkConnector,
  checkNdjson,
  checkRule,
  checkSavedObject,
} from '../../src/kibana/check.js';
import { DASHBOARDS, allPanels, allVegaPanels } from '../../src/kibana/dashboards.js';
import { EXAMPLE_ALERT_SETTINGS, exportFiles, savedObjects } from '../../src/kibana/export.js';
import { kueryToDsl } from '../../src/kibana/kuery.js';
import { connectors, rules } from '../../src/kibana/rules.js';
import { DISTRIBUTION_PANEL, vegaObject } from '../../src/kibana/vega.js';

const root = new URL('../../kibana/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const fixture = readFileSync(new URL('./fixtures/kibana-8.7-export-excerpt.ndjson', import.meta.url), 'utf8');
/** A Kibana 9.x export (fixtures/README.md): a data view and a dashboard of a model version after 8.19. */
const modern = readFileSync(new URL('./fixtures/kibana-9-export-excerpt.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('committed Kibana files', () => {
  it('are exactly what `mlmon kibana export` generates (run it after changing src/kibana)', () => {
    const files = exportFiles();
    for (const [path, content] of Object.entries(files)) expect(read(path), path).toBe(content);
    const committed = [
      ...readdirSync(new URL('rules/', root)).map((f) => `rules/${f}`),
      ...readdirSync(new URL('connectors/', root)).map((f) => `connectors/${f}`),
      'mlmon.ndjson',
    ].sort();
    expect(committed).toEqual(Object.keys(files).sort());
  });
});

describe('saved objects', () => {
  const ndjson = read('mlmon.ndjson');
  const lines = ndjson.trim().split('\n');

  it('every line parses, every object passes the checker, every reference resolves', () => {
    expect(lines.length).toBe(savedObjects().length);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(checkNdjson(ndjson)).toEqual([]);
  });

  it('ids are unique and stable', () => {
    const ids = lines
      .map((l) => JSON.parse(l) as { type: string; id: string })
      .map((o) => `${o.type}/${o.id}`);
    expect(new Set(ids).size).toBe(ids.length);
    // Generating again yields the same ids (nothing random or time-based in them).
    expect(savedObjects().map((o) => `${o.type}/${o.id}`)).toEqual(ids);
    // The ids users and rules link to: renaming one orphans bookmarks and alert links.
    expect(ids).toEqual(
      expect.arrayContaining([
        'index-pattern/mlmon-dv-prediction',
        'index-pattern/mlmon-dv-outcome',
        'index-pattern/mlmon-dv-deadletter',
        'index-pattern/mlmon-dv-drift',
        'index-pattern/mlmon-dv-quality',
        'index-pattern/mlmon-dv-performance',
        'index-pattern/mlmon-dv-service',
        'index-pattern/mlmon-dv-process',
        'visualization/mlmon-vega-drift-distribution',
        'dashboard/mlmon-dashboard-overview',
        'dashboard/mlmon-dashboard-drift',
        'dashboard/mlmon-dashboard-performance',
        'dashboard/mlmon-dashboard-quality',
        'dashboard/mlmon-dashboard-service',
        'links/mlmon-links-dashboards',
      ]),
    );
    expect(ids.filter((i) => i.startsWith('lens/')).length).toBe(allPanels().length);
    expect(ids.filter((i) => i.startsWith('visualization/')).length).toBe(allVegaPanels().length);
  });

  it('the Vega panel is a vega visualization on the drift dashboard, querying with %context% and %timefield%', () => {
    const o = savedObjects().find((s) => s.id === 'mlmon-vega-drift-distribution')!;
    expect(o.type).toBe('visualization');
    const visState = JSON.parse(String(o.attributes.visState)) as { type: string; params: { spec: string } };
    expect(visState.type).toBe('vega');
    const spec = JSON.parse(visState.params.spec) as {
      data: { url: Record<string, unknown>; format: { property: string } };
    };
    expect(spec.data.url).toMatchObject({
      '%context%': true,
      '%timefield%': '@timestamp',
      index: 'metrics-mlmon.drift-*',
    });
    expect(spec.data.format.property).toBe('hits.hits');
    const drift = savedObjects().find((s) => s.id === 'mlmon-dashboard-drift')!;
    expect(drift.references).toContainEqual({
      name: 'drift-distribution:panel_drift-distribution',
      type: 'visualization',
      id: 'mlmon-vega-drift-distribution',
    });
    const panels = JSON.parse(String(drift.attributes.panelsJSON)) as Array<{
      type: string;
      panelIndex: string;
    }>;
    expect(panels.find((p) => p.panelIndex === 'drift-distribution')?.type).toBe('visualization');
  });

  it('the checker rejects a Vega spec that Kibana would refuse', () => {
    expect(checkSavedObject(vegaObject(DISTRIBUTION_PANEL))).toEqual([]);
    const spec = structuredClone(DISTRIBUTION_PANEL.spec) as {
      data: { url: { body: Record<string, unknown> } };
    };
    spec.data.url.body.query = { match_all: {} }; // es_query_parser: not together with %context%
    expect(checkSavedObject(vegaObject({ ...DISTRIBUTION_PANEL, spec })).join()).toMatch(
      /must not be used with url.body.query/,
    );
    const broken = vegaObject(DISTRIBUTION_PANEL);
    broken.attributes.visState = '{"type":"vega","params":{"spec":"{"}}';
    expect(checkSavedObject(broken).join()).toMatch(/params.spec is not valid JSON/);
  });

  it('every dashboard has model, version and namespace controls and links to the other four', () => {
    for (const d of DASHBOARDS) {
      const o = savedObjects().find((s) => s.id === `mlmon-dashboard-${d.key}`)!;
      const controls = JSON.parse(
        (o.attributes.controlGroupInput as { panelsJSON: string }).panelsJSON,
      ) as Record<string, { explicitInput: { fieldName: string } }>;
      const fields = Object.values(controls).map((c) => c.explicitInput.fieldName);
      expect(fields).toEqual(
        expect.arrayContaining(['model.name', 'model.version', 'data_stream.namespace']),
      );
      expect(o.references.some((r) => r.type === 'links' && r.id === 'mlmon-links-dashboards')).toBe(true);
    }
    const links = savedObjects().find((s) => s.type === 'links')!;
    expect(links.references.map((r) => r.id).sort()).toEqual(
      DASHBOARDS.map((d) => `mlmon-dashboard-${d.key}`).sort(),
    );
  });

  it('data views format rates and accuracies as percent and latency as duration', () => {
    const formats = (id: string) =>
      JSON.parse(String(savedObjects().find((o) => o.id === id)!.attributes.fieldFormatMap)) as Record<
        string,
        { id: string }
      >;
    expect(formats('mlmon-dv-quality')['quality.missing_rate']?.id).toBe('percent');
    expect(formats('mlmon-dv-performance')['performance.accuracy']?.id).toBe('percent');
    expect(formats('mlmon-dv-service')['service.latency.p95']?.id).toBe('duration');
    expect(formats('mlmon-dv-prediction')['event.duration']?.id).toBe('duration');
  });

  it('every panel query is KQL the test translator understands', () => {
    for (const p of allPanels()) expect(() => kueryToDsl(p.query ?? '')).not.toThrow();
    expect(() => kueryToDsl('a: 1 or b: 2')).toThrow(/subset/);
  });
});

describe('the structural checker on real Kibana exports', () => {
  it('accepts objects Kibana exported', () => {
    expect(checkNdjson(fixture)).toEqual([]);
  });

  it('rejects the same objects once broken', () => {
    type Obj = Record<string, unknown>;
    const [dataView, lens, dashboard] = fixture
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Obj) as [Obj, Obj, Obj];
    /** The object at a path of keys (first value of an object when the key is '*'). */
    const dig = (o: Obj, ...path: string[]): Obj =>
      path.reduce((cur, key) => (key === '*' ? Object.values(cur)[0] : cur[key]) as Obj, o);
    const asNdjson = (...objects: unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n');
    // a dashboard whose lens is missing from the file: the reference does not resolve
    expect(checkNdjson(asNdjson(dataView, dashboard)).join()).toMatch(/does not resolve/);
    // a lens layer without its data view reference
    const noRef = structuredClone(lens);
    noRef.references = [];
    expect(checkNdjson(asNdjson(dataView, noRef, dashboard)).join()).toMatch(/no index-pattern reference/);
    // a column without its field
    const noField = structuredClone(lens);
    delete dig(noField, 'attributes', 'state', 'datasourceStates', 'formBased', 'layers', '*', 'columns', '*')
      .sourceField;
    expect(checkNdjson(asNdjson(dataView, noField, dashboard)).join()).toMatch(/needs sourceField/);
    // panelsJSON that is not JSON
    const badPanels = structuredClone(dashboard);
    dig(badPanels, 'attributes').panelsJSON = '[{';
    expect(checkNdjson(asNdjson(dataView, lens, badPanels)).join()).toMatch(/panelsJSON is not valid JSON/);
    // a duplicated object
    expect(checkNdjson(asNdjson(dataView, dataView)).join()).toMatch(/duplicate id/);
  });
});

describe('saved objects in the export format of a real Kibana ≥ 8.8', () => {
  it('have exactly the top-level fields of a real export (less those the server assigns)', () => {
    // namespaces, created_at, updated_at, version: set by Kibana, dropped from the fixture too
    const keys = (o: object) => Object.keys(o).sort();
    const real = keys(modern[0]!);
    expect(real).toEqual([
      'attributes',
      'coreMigrationVersion',
      'id',
      'managed',
      'references',
      'type',
      'typeMigrationVersion',
    ]);
    for (const o of savedObjects()) expect(keys(o), o.id).toEqual(real);
    // the real data view's versions are the ones mlmon writes for data views
    expect(modern[0]!.typeMigrationVersion).toBe(TYPE_MIGRATION_VERSIONS['index-pattern']);
    expect(modern[0]!.coreMigrationVersion).toBe(CORE_MIGRATION_VERSION);
  });

  it("carry Kibana 8.19's migration version of their type, core 8.8.0, managed false", () => {
    for (const o of savedObjects()) {
      expect(o.typeMigrationVersion, o.id).toBe(TYPE_MIGRATION_VERSIONS[o.type]);
      expect(o.coreMigrationVersion, o.id).toBe(CORE_MIGRATION_VERSION);
      expect(o.managed, o.id).toBe(false);
    }
  });

  it('the checker accepts the real data view and refuses the dashboard of a Kibana newer than 8.19', () => {
    expect(checkSavedObject(modern[0])).toEqual([]);
    const problems = checkSavedObject(modern[1]).join('\n');
    expect(problems).toMatch(/typeMigrationVersion 10\.3\.0 is newer than Kibana 8\.19's 10\.2\.0/);
    expect(problems).toMatch(/unknown key pinned_panels/);
    // the same dashboard as 8.19 writes it passes: model version 2, without the 9.x attribute
    const as819 = structuredClone(modern[1]!) as Record<string, Record<string, unknown>>;
    as819.typeMigrationVersion = '10.2.0' as never;
    delete as819.attributes!.pinned_panels;
    expect(checkSavedObject(as819)).toEqual([]);
    // and mlmon's own objects with an extra attribute or a bad version are refused
    const d = structuredClone(savedObjects().find((o) => o.type === 'dashboard')!);
    d.attributes.sections = [];
    d.typeMigrationVersion = 'next';
    expect(checkSavedObject(d).join()).toMatch(/unknown key sections/);
    expect(checkSavedObject(d).join()).toMatch(/typeMigrationVersion must be/);
  });
});

describe('rules and connectors', () => {
  const ruleList = rules(EXAMPLE_ALERT_SETTINGS);
  const connectorList = connectors(EXAMPLE_ALERT_SETTINGS);

  it('every rule and connector body has what Kibana requires; every action suits its connector', () => {
    expect(ruleList.length).toBe(10);
    for (const r of ruleList) expect(checkRule(r)).toEqual([]);
    for (const c of connectorList) expect(checkConnector(c)).toEqual([]);
    for (const r of ruleList)
      for (const a of r.actions) {
        const c = connectorList.find((x) => x.id === a.id);
        expect(c, `${r.id} → ${a.id}`).toBeDefined();
        expect(checkActionParams(c!.connector_type_id, a.params)).toEqual([]);
      }
  });

  it('both shipped rule types are used, with their own action groups', () => {
    expect(new Set(ruleList.map((r) => r.rule_type_id))).toEqual(new Set(['.es-query', '.index-threshold']));
    for (const r of ruleList)
      for (const a of r.actions)
        expect(a.group).toBe(r.rule_type_id === '.es-query' ? 'query matched' : 'threshold met');
  });

  it('messages carry model, version, feature, values, threshold and a dashboard link filtered to the model', () => {
    const drift = ruleList.find((r) => r.id === 'mlmon-rule-drift-detected')!;
    const email = drift.actions.find((a) => a.id === 'mlmon-connector-email')!.params.message as string;
    for (const part of ['model.name', 'model.version', 'feature.name', 'drift.score', 'drift.threshold'])
      expect(email).toContain(part);
    expect(email).toContain(
      "{{kibanaBaseUrl}}/app/dashboards#/view/mlmon-dashboard-drift?_a=(query:(language:kuery,query:'model.name%3A%22{{context.hits.0._source.model.name}}%22'))",
    );
    // performance rules print each breached metric with its value and its bound, from the result
    for (const id of ['mlmon-rule-performance-realised', 'mlmon-rule-performance-estimated']) {
      const r = ruleList.find((x) => x.id === id)!;
      const text = r.actions.find((a) => a.id === 'mlmon-connector-email')!.params.message as string;
      for (const part of ['model.name', 'model.version', 'violations', '{{value}}', '{{lower}}', '{{upper}}'])
        expect(text, `${id}: ${part}`).toContain(part);
      expect(text).toContain('mlmon-dashboard-performance?_a=(query:(language:kuery,query:');
    }
  });

  it('the checker rejects broken rule and connector bodies', () => {
    const r = structuredClone(ruleList[0]!);
    r.params.threshold = [];
    expect(checkRule(r).join()).toMatch(/threshold/);
    const q = structuredClone(ruleList[0]!);
    q.params.esQuery = '{"size":1}';
    expect(checkRule(q).join()).toMatch(/must contain "query"/);
    const g = structuredClone(ruleList[0]!);
    delete g.params.termSize;
    expect(checkRule(g).join()).toMatch(/termSize/);
    expect(checkConnector({ id: 'x', name: 'x', connector_type_id: '.email', config: {} }).join()).toMatch(
      /from/,
    );
    // Kibana's schemas forbid unknown keys in rule params, action params and connector config.
    const extra = structuredClone(ruleList[0]!);
    extra.params.groupField = 'model.name';
    expect(checkRule(extra).join()).toMatch(/unknown key groupField/);
    const threshold = structuredClone(ruleList.find((x) => x.rule_type_id === '.index-threshold')!);
    threshold.params.esQuery = '{}';
    expect(checkRule(threshold).join()).toMatch(/unknown key esQuery/);
    expect(checkActionParams('.server-log', { message: 'm', severity: 'high' }).join()).toMatch(
      /unknown key severity/,
    );
    expect(
      checkActionParams('.email', { to: ['a@b.c'], subject: 's', message: 'm', body: 'x' }).join(),
    ).toMatch(/unknown key body/);
    const email = connectorList.find((c) => c.connector_type_id === '.email')!;
    expect(checkConnector({ ...email, config: { ...email.config, user: 'u' } }).join()).toMatch(
      /unknown key user/,
    );
    expect(
      checkConnector({ ...email, config: { ...email.config, hasAuth: true }, secrets: {} }).join(),
    ).toMatch(/needs secrets.user and secrets.password/);
  });
});
