/**
 * Issue 21, item 2: every field a Kibana panel, control, data view, rule (query, grouping, message)
 * or the report reads is mapped explicitly by the template files in `index-templates/`, with a
 * type that suits its use. Read from the files (test/kibana/template-fields.ts composes them as
 * Elasticsearch does), not from a live mapping: a field that exists only through a dynamic
 * template is missing from a data view until some document carried it, and then a panel errors.
 * (Before this test, `fairness.demographic_parity_difference` and `…equal_opportunity_difference`,
 * `feature.role` and `performance.scope` were mapped by no template.) That the composition here
 * is the one Elasticsearch makes is checked against a real cluster in results.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NUMERIC_TYPES } from '../../src/elastic/source.js';
import { DASHBOARDS, allPanels, allVegaPanels } from '../../src/kibana/dashboards.js';
import { EXAMPLE_ALERT_SETTINGS, savedObjects } from '../../src/kibana/export.js';
import { rules } from '../../src/kibana/rules.js';
import { FIELD_FORMATS, type DataViewKind } from '../../src/kibana/saved-objects.js';
import { logStream, resultStream, streamPattern, type ResultStreamKind } from '../../src/schema/streams.js';
import { templateFields, type FieldTypes } from './template-fields.js';

/** A concrete stream name matching a pattern such as `metrics-mlmon.drift-*`. */
const streamOf = (pattern: string) => pattern.replace(/\*$/, 'fieldtest');
const fieldsOf = (kind: DataViewKind): FieldTypes => templateFields(streamOf(streamPattern(kind)));

const KEYWORD = ['keyword'];
const isNumeric = (t: string | undefined) => t !== undefined && NUMERIC_TYPES.has(t);

/** Field names in the subset of KQL the panels use (kuery.ts): `field: "value"`, `not field: true`. */
const kqlFields = (kql: string) => [...kql.matchAll(/([A-Za-z0-9_.@]+)\s*:/g)].map((m) => m[1] as string);

describe('fields Kibana reads are mapped by the templates', () => {
  it('the composition finds the templates (a known field each, and none of a dynamic template)', () => {
    expect(fieldsOf('drift').get('drift.score')).toBe('double');
    expect(fieldsOf('prediction').get('@timestamp')).toBe('date');
    expect(fieldsOf('process').get('process.memory.rss')).toBe('long');
    // `confusion.*` counts are mapped by a dynamic template only, so they are not "explicit" here.
    expect(fieldsOf('performance').has('performance.confusion.foo')).toBe(false);
  });

  it('Lens panels: buckets on keyword, metrics on numbers, KQL fields mapped', () => {
    const problems: string[] = [];
    for (const p of allPanels()) {
      const f = fieldsOf(p.dataView);
      for (const b of [p.x, p.split])
        if (b?.type === 'terms' && f.get(b.field) !== 'keyword')
          problems.push(`${p.id}: bucket ${b.field} is ${f.get(b.field) ?? 'unmapped'}`);
      for (const m of p.metrics)
        if (m.op !== 'count' && !isNumeric(f.get(m.field as string)))
          problems.push(`${p.id}: metric ${m.field} is ${f.get(m.field as string) ?? 'unmapped'}`);
      for (const q of kqlFields(p.query ?? ''))
        if (!f.has(q)) problems.push(`${p.id}: query field ${q} is unmapped`);
    }
    expect(problems).toEqual([]);
  });

  it('controls are keyword fields of their data view', () => {
    for (const d of DASHBOARDS)
      for (const c of d.controls)
        expect([fieldsOf(d.controlDataView).get(c)], `${d.key}: ${c}`).toEqual(KEYWORD);
  });

  it('data views: time field a date, formatted fields numbers', () => {
    for (const o of savedObjects().filter((s) => s.type === 'index-pattern')) {
      const kind = o.id.replace('mlmon-dv-', '') as DataViewKind;
      const f = fieldsOf(kind);
      expect(f.get(o.attributes.timeFieldName as string), o.id).toBe('date');
      for (const field of Object.keys(FIELD_FORMATS[kind]))
        expect(isNumeric(f.get(field)), `${o.id}: ${field} is ${f.get(field)}`).toBe(true);
    }
  });

  it('rules: time field, group fields, query fields and the fields their messages print', () => {
    const problems: string[] = [];
    let messageFields = 0;
    for (const r of rules(EXAMPLE_ALERT_SETTINGS)) {
      const f = templateFields(streamOf((r.params.index as string[])[0] as string));
      if (f.get(r.params.timeField as string) !== 'date') problems.push(`${r.id}: time field`);
      const term = r.params.termField as string | string[] | undefined;
      for (const t of term === undefined ? [] : Array.isArray(term) ? term : [term])
        if (f.get(t) !== 'keyword') problems.push(`${r.id}: group field ${t} is ${f.get(t) ?? 'unmapped'}`);
      const q = (r.params.esQuery as string | undefined) ?? '';
      for (const [, field, value] of q.matchAll(/"term":\{"([^"]+)":("[^"]*"|true|false)\}/g)) {
        const want = value === 'true' || value === 'false' ? 'boolean' : 'keyword';
        if (f.get(field as string) !== want)
          problems.push(`${r.id}: term ${field} is ${f.get(field as string)}`);
      }
      for (const [, field] of q.matchAll(/"range":\{"([^"]+)":/g))
        if (!isNumeric(f.get(field as string)) && f.get(field as string) !== 'date')
          problems.push(`${r.id}: range on ${field} (${f.get(field as string) ?? 'unmapped'})`);
      for (const [, field] of q.matchAll(/"exists":\{"field":"([^"]+)"\}/g))
        if (!f.has(field as string)) problems.push(`${r.id}: exists on unmapped ${field}`);
      // `{{context.hits.0._source.model.name}}`, `{{_source.window.end}}`: read from the hits.
      for (const a of r.actions)
        for (const [, field] of JSON.stringify(a.params).matchAll(
          /_source\.([A-Za-z0-9_@]+(?:\.[A-Za-z0-9_@]+)*)/g,
        )) {
          messageFields++;
          if (!f.has(field as string)) problems.push(`${r.id}: message prints unmapped ${field}`);
        }
    }
    expect(problems).toEqual([]);
    expect(messageFields).toBeGreaterThan(20);
  });

  it('the Vega panel: the fields its search returns', () => {
    for (const v of allVegaPanels()) {
      const url = (v.spec as { data: { url: { index: string; body: { _source: string[] } } } }).data.url;
      const f = templateFields(streamOf(url.index));
      for (const field of url.body._source) expect(f.has(field), `${v.id}: ${field}`).toBe(true);
    }
  });

  /**
   * The report (src/report/gather.ts, distributions.ts) reads result documents through `str`,
   * `num` and `get` with a literal path (`perf` being the document's `performance` object) and
   * queries `model.name`, `window.*`, `segment.name` and the prediction stream's `@timestamp`.
   * Read from the source so that a field added to the report is checked without a list to keep.
   */
  it('the report: every field it queries or reads by name', () => {
    const source = ['gather.ts', 'distributions.ts']
      .map((f) => readFileSync(new URL(`../../src/report/${f}`, import.meta.url), 'utf8'))
      .join('\n');
    const read = new Set<string>();
    for (const [, on, path] of source.matchAll(/\b(?:str|num|get)\((d|perf), '([^']+)'\)/g))
      read.add(on === 'perf' ? `performance.${path}` : (path as string));
    for (const [, path] of source.matchAll(/\{ (?:term|range|exists): \{ (?:field: )?'([^']+)'/g))
      read.add(path as string);
    // fields distributions.ts reads off the document directly
    for (const path of ['drift.bins', 'feature_count', 'reference.count']) read.add(path);
    expect(read.size).toBeGreaterThan(35);
    const results: ResultStreamKind[] = ['drift', 'quality', 'performance', 'service'];
    const maps = [
      ...results.map((k) => resultStream(k, 'fieldtest')),
      logStream('prediction', 'fieldtest'),
    ].map((s) => templateFields(s));
    // A field, or an object the report takes whole (`performance`) whose fields are mapped.
    const mapped = (path: string) =>
      maps.some((m) => m.has(path) || [...m.keys()].some((k) => k.startsWith(`${path}.`)));
    expect([...read].filter((p) => !mapped(p)).sort()).toEqual([]);
    // The queried ones with the type the query needs.
    const perf = templateFields(resultStream('performance', 'fieldtest'));
    expect([perf.get('model.name'), perf.get('segment.name'), perf.get('performance.scope')]).toEqual([
      'keyword',
      'keyword',
      'keyword',
    ]);
    expect([perf.get('window.start'), perf.get('window.end')]).toEqual(['date', 'date']);
  });
});
