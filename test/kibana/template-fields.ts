/**
 * The mapping a new backing index of a stream gets, composed from the template files in
 * `index-templates/` as Elasticsearch composes it: the index template whose `index_patterns` match
 * the stream (highest `priority`), its `composed_of` components in order, then its own
 * `template.mappings`, later ones overriding earlier ones field by field. Only fields the
 * templates name explicitly count: `dynamic_templates` are left out on purpose, since a field that
 * exists only once some document carried it is missing from a data view until then (issue 21.2).
 */
import { loadTemplates, type TemplateBody, type TemplateSet } from '../../src/elastic/templates.js';

/** Field path → mapped type; `object` for an object with `enabled: false` (stored, not indexed). */
export type FieldTypes = Map<string, string>;

type Properties = Record<string, { type?: string; enabled?: boolean; properties?: Properties }>;

function flatten(properties: Properties | undefined, prefix: string, out: FieldTypes): void {
  for (const [name, m] of Object.entries(properties ?? {})) {
    const path = `${prefix}${name}`;
    if (m.properties) flatten(m.properties, `${path}.`, out);
    else out.set(path, m.type ?? 'object');
  }
}

const propertiesOf = (body: TemplateBody | undefined): Properties | undefined =>
  ((body?.template as { mappings?: { properties?: Properties } } | undefined)?.mappings?.properties ??
    undefined) as Properties | undefined;

/** `*` in an index pattern matches any run of characters (as in Elasticsearch's templates). */
function matches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

/** The index template Elasticsearch picks for `index` (the highest priority among the matching). */
export function templateFor(index: string, set: TemplateSet = loadTemplates()): string {
  const candidates = Object.entries(set.index)
    .filter(([, body]) => (body.index_patterns ?? []).some((p) => matches(p, index)))
    .sort(([, a], [, b]) => (b.priority ?? 0) - (a.priority ?? 0));
  const [first] = candidates;
  if (!first) throw new Error(`no index template in index-templates/ matches ${index}`);
  return first[0];
}

/** The explicitly mapped fields of a new backing index of `index`. */
export function templateFields(index: string, set: TemplateSet = loadTemplates()): FieldTypes {
  const name = templateFor(index, set);
  const body = set.index[name] as TemplateBody;
  const out: FieldTypes = new Map();
  for (const component of body.composed_of ?? []) {
    if (!set.component[component])
      throw new Error(`${name} is composed of ${component}, not in index-templates/`);
    flatten(propertiesOf(set.component[component]), '', out);
  }
  flatten(propertiesOf(body), '', out);
  return out;
}
