import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import {
  installTemplates,
  loadTemplates,
  TemplateDowngradeError,
  type TemplateBody,
  type TemplateSet,
} from '../../src/elastic/templates.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

/**
 * The shipped templates renamed onto a private prefix (template names and index patterns), so this
 * file can upgrade and downgrade them without touching the templates other test files use.
 */
function privateCopy(set: TemplateSet, prefix: string): TemplateSet {
  const rename = (name: string) => `${prefix}-${name}`;
  const component: Record<string, TemplateBody> = {};
  for (const [name, body] of Object.entries(set.component)) component[rename(name)] = structuredClone(body);
  const index: Record<string, TemplateBody> = {};
  for (const [name, body] of Object.entries(set.index)) {
    const copy = structuredClone(body);
    copy.composed_of = (copy.composed_of ?? []).map(rename);
    copy.index_patterns = (copy.index_patterns ?? []).map((p) => p.replace('mlmon', prefix));
    index[rename(name)] = copy;
  }
  return { component, index };
}

function withVersion(set: TemplateSet, component: string, version: number, extraField: string): TemplateSet {
  const next = structuredClone(set);
  const body = next.component[component];
  if (!body) throw new Error(`no component ${component}`);
  body.version = version;
  const mappings = (body.template as { mappings: { properties: Record<string, unknown> } }).mappings;
  mappings.properties[extraField] = { type: 'keyword' };
  return next;
}

async function backingIndices(client: Client, stream: string): Promise<string[]> {
  const resolved = await client.indices.resolveIndex({ name: stream, expand_wildcards: ['open', 'hidden'] });
  const backing = resolved.data_streams[0]?.backing_indices ?? [];
  return typeof backing === 'string' ? [backing] : backing;
}

describe('index templates against a real Elasticsearch', () => {
  const client = testClient();
  const prefix = uniqueNamespace('mlmontpl');
  const v1 = privateCopy(loadTemplates(), prefix);
  const stream = `logs-${prefix}.prediction-default`;
  afterAll(async () => {
    await client.indices.deleteDataStream({ name: `*-${prefix}.*` }).catch(() => undefined);
    for (const name of Object.keys(v1.index))
      await client.indices.deleteIndexTemplate({ name }).catch(() => undefined);
    for (const name of Object.keys(v1.component))
      await client.cluster.deleteComponentTemplate({ name }).catch(() => undefined);
    await client.close();
  });

  it('ships a versioned template with priority above the built-ins for every stream in DESIGN.md', () => {
    const shipped = loadTemplates();
    const patterns = Object.values(shipped.index).flatMap((t) => t.index_patterns ?? []);
    expect(patterns.sort()).toEqual(
      [
        'logs-mlmon.deadletter-*',
        'logs-mlmon.outcome-*',
        'logs-mlmon.prediction-*',
        'metrics-mlmon.drift-*',
        'metrics-mlmon.evaluation-*',
        'metrics-mlmon.performance-*',
        'metrics-mlmon.process-*',
        'metrics-mlmon.quality-*',
        'metrics-mlmon.service-*',
        'mlmon-baselines',
        'mlmon-pairs-*',
        'mlmon-state',
      ].sort(),
    );
    for (const [name, t] of Object.entries(shipped.index)) {
      expect(t.priority, name).toBeGreaterThan(200);
      expect(t._meta?.schema_version, name).toBeTypeOf('number');
      for (const c of t.composed_of ?? []) expect(shipped.component[c], `${name} uses ${c}`).toBeDefined();
    }
  });

  it('installs, is idempotent, upgrades with a rollover, and refuses a downgrade', async () => {
    const first = await installTemplates(client, { templates: v1 });
    expect(first.steps.every((s) => s.action === 'create')).toBe(true);
    expect(first.steps).toHaveLength(Object.keys(v1.component).length + Object.keys(v1.index).length);

    const again = await installTemplates(client, { templates: v1 });
    expect(again.changed).toBe(false);
    expect(again.steps.every((s) => s.action === 'unchanged')).toBe(true);

    // Documents under version 1.
    await client.index({
      index: stream,
      op_type: 'create',
      id: 'old-1',
      refresh: true,
      document: { '@timestamp': '2026-01-01T00:00:00Z', features: { x: 1 } },
    });
    expect(await backingIndices(client, stream)).toHaveLength(1);

    // The next version adds a field to the prediction mappings component. Relative to what is
    // shipped, so that bumping the shipped version does not break this test.
    const component = `${prefix}-mlmon-prediction@mappings`;
    const shipped = v1.component[component]?.version as number;
    expect(shipped).toBeGreaterThanOrEqual(1);
    const v2 = withVersion(v1, component, shipped + 1, 'added_in_v2');
    const dry = await installTemplates(client, { templates: v2, dryRun: true });
    expect(dry.steps.find((s) => s.name === component)).toMatchObject({
      action: 'upgrade',
      from: shipped,
      to: shipped + 1,
    });
    expect(dry.rolledOver).toContain(stream);
    expect(await backingIndices(client, stream)).toHaveLength(1); // a dry run changes nothing
    const tplAfterDry = await client.cluster.getComponentTemplate({ name: component });
    expect(tplAfterDry.component_templates[0]?.component_template.version).toBe(shipped);

    const upgrade = await installTemplates(client, { templates: v2 });
    expect(upgrade.rolledOver).toEqual(
      [stream, `logs-${prefix}.outcome-default`].filter((s) => s === stream),
    );
    const backing = await backingIndices(client, stream);
    expect(backing).toHaveLength(2);
    const mapping = await client.indices.getMapping({ index: backing[1] as string });
    const props = Object.values(mapping)[0]?.mappings.properties ?? {};
    expect(props.added_in_v2).toEqual({ type: 'keyword' });
    const oldMapping = await client.indices.getMapping({ index: backing[0] as string });
    expect(Object.values(oldMapping)[0]?.mappings.properties?.added_in_v2).toBeUndefined();

    await client.index({
      index: stream,
      op_type: 'create',
      id: 'new-1',
      refresh: true,
      document: { '@timestamp': '2026-01-02T00:00:00Z', features: { x: 2 }, added_in_v2: 'yes' },
    });
    const hits = await client.search({
      index: stream,
      query: { match_all: {} },
      sort: [{ '@timestamp': 'asc' }],
    });
    expect(hits.hits.hits.map((h) => h._id)).toEqual(['old-1', 'new-1']);
    const byNewField = await client.search({ index: stream, query: { term: { added_in_v2: 'yes' } } });
    expect(byNewField.hits.hits.map((h) => h._id)).toEqual(['new-1']);

    const third = await installTemplates(client, { templates: v2 });
    expect(third.changed).toBe(false);
    expect(third.rolledOver).toEqual([]);
    expect(await backingIndices(client, stream)).toHaveLength(2);

    // An older mlmon (the shipped version) must refuse and change nothing.
    await expect(installTemplates(client, { templates: v1 })).rejects.toThrow(TemplateDowngradeError);
    await expect(installTemplates(client, { templates: v1 })).rejects.toThrow(
      new RegExp(`version ${shipped + 1} in the cluster, this mlmon ships ${shipped}`),
    );
    const still = await client.cluster.getComponentTemplate({ name: component });
    expect(still.component_templates[0]?.component_template.version).toBe(shipped + 1);
  });
});

describe('priority over a competing logs-*-* template', () => {
  const client = testClient();
  const competing = uniqueNamespace('competing-logs');
  const ns = uniqueNamespace('prio');
  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await client.indices.deleteIndexTemplate({ name: competing }).catch(() => undefined);
    await client.indices.deleteDataStream({ name: `logs-mlmon.prediction-${ns}` }).catch(() => undefined);
    await client.close();
  });

  it('writes to logs-mlmon.prediction-* use our mappings, not a priority-100 logs-*-* template', async () => {
    // The full distribution ships its own `logs` template at priority 100 on logs-*-*; two templates
    // with one priority and overlapping patterns are refused, so step aside to 101 there.
    const builtIn = await client.indices.existsIndexTemplate({ name: 'logs' });
    await client.indices.putIndexTemplate({
      name: competing,
      index_patterns: ['logs-*-*'],
      data_stream: {},
      priority: builtIn ? 101 : 100,
      template: {
        settings: { 'index.number_of_shards': 1 },
        mappings: {
          properties: {
            features: { type: 'keyword' },
            prediction: { properties: { score: { type: 'keyword' } } },
          },
        },
      },
    });
    const simulated = await client.indices.simulateIndexTemplate({ name: `logs-mlmon.prediction-${ns}` });
    expect((simulated.overlapping ?? []).map((o) => o.name)).toContain(competing);
    await client.index({
      index: `logs-mlmon.prediction-${ns}`,
      op_type: 'create',
      refresh: true,
      document: {
        '@timestamp': '2026-01-01T00:00:00Z',
        features: { amount: 12.5 },
        prediction: { score: 0.9 },
      },
    });
    const mapping = await client.indices.getMapping({ index: `logs-mlmon.prediction-${ns}` });
    const props = Object.values(mapping)[0]?.mappings.properties as Record<
      string,
      { properties?: Record<string, { type?: string }>; subobjects?: boolean }
    >;
    expect(props.features?.subobjects).toBe(false);
    expect(props.features?.properties?.amount?.type).toBe('double');
    expect(props.prediction?.properties?.score?.type).toBe('double');
  });
});
