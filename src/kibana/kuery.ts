/**
 * The KQL that mlmon's Lens panels use, translated to query DSL so that tests can run a panel's
 * request on Elasticsearch. Only the subset the panels use: clauses `field: "value"`, `field: true`
 * or `not field: "value"`, joined by `and`. Anything else throws, so a panel that uses more KQL
 * fails its test instead of being checked with a wrong query. (Kibana's own translator lives in
 * @kbn/es-query, which is not published to npm.)
 */
export type DslQuery = Record<string, unknown>;

const CLAUSE = /^(not\s+)?([A-Za-z0-9_.@]+)\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(true|false))$/;

export function kueryToDsl(kuery: string): DslQuery {
  const text = kuery.trim();
  if (text === '') return { match_all: {} };
  const filter: DslQuery[] = [];
  const mustNot: DslQuery[] = [];
  for (const part of text.split(/\s+and\s+/)) {
    const m = CLAUSE.exec(part.trim());
    if (!m) throw new Error(`KQL outside the supported subset: ${part}`);
    const field = m[2] as string;
    const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] === 'true';
    (m[1] ? mustNot : filter).push({ term: { [field]: value } });
  }
  return { bool: { filter, must_not: mustNot } };
}
