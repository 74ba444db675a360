/**
 * Installs and upgrades mlmon's component and composable index templates.
 *
 * Rules (the contract of `mlmon setup`):
 * - every template carries an integer `version`; we compare it with what the cluster has;
 * - missing → create; same version → leave alone; ours newer → replace, then roll over the data
 *   streams it governs so new backing indices take the new mapping (a plain index such as
 *   `mlmon-baselines` cannot roll over: the new fields are added to its mapping in place, which is
 *   allowed for added fields and is all an upgrade of ours does); cluster's newer → refuse the
 *   whole run before changing anything (an older mlmon must never downgrade a newer schema);
 * - `dryRun` computes and returns the same plan without changing anything.
 * Data streams are found with the resolve-index API, which every distribution has (the
 * `_data_stream` APIs live in a module that Elastic's integ-test distribution lacks).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';

export interface TemplateBody {
  version: number;
  _meta?: Record<string, unknown>;
  template?: Record<string, unknown>;
  index_patterns?: string[];
  composed_of?: string[];
  data_stream?: Record<string, unknown>;
  priority?: number;
  [key: string]: unknown;
}

export interface TemplateSet {
  component: Record<string, TemplateBody>;
  index: Record<string, TemplateBody>;
}

export type TemplateKind = 'component' | 'index';

export type PlannedAction = 'create' | 'upgrade' | 'unchanged';

export interface PlanStep {
  kind: TemplateKind;
  name: string;
  action: PlannedAction;
  /** Version in the cluster before the run (undefined when missing). */
  from?: number;
  to: number;
}

export interface SetupResult {
  dryRun: boolean;
  steps: PlanStep[];
  /** Data streams rolled over (or, in a dry run, that would be). */
  rolledOver: string[];
  changed: boolean;
}

export interface InstallOptions {
  /** Templates to install; default the ones shipped in `index-templates/`. */
  templates?: TemplateSet;
  dryRun?: boolean;
  /** Data stream retention, e.g. `{ logs: '30d', metrics: '365d' }`; default the shipped values. */
  retention?: { logs?: string; metrics?: string };
  /**
   * Shards of every data stream's backing indices (predictions, outcomes, results), for a cluster
   * of several nodes: `primaries` spreads writes and searches over nodes; `replicas` (default: the
   * shipped `auto_expand_replicas: 0-1`, one replica once there is a second node) keeps a copy
   * elsewhere. The state and baselines indices keep one primary shard (small, read by id).
   * Like `retention`, applied when a template is created or upgraded.
   */
  shards?: { primaries?: number; replicas?: number };
}

export class TemplateDowngradeError extends Error {
  constructor(
    readonly conflicts: Array<{ kind: TemplateKind; name: string; installed: number; shipped: number }>,
  ) {
    super(
      'Refusing to downgrade: ' +
        conflicts
          .map(
            (c) =>
              `${c.kind} template ${c.name} is at version ${c.installed} in the cluster, this mlmon ships ${c.shipped}`,
          )
          .join('; ') +
        '. Upgrade mlmon (templates are only ever upgraded). Nothing was changed.',
    );
    this.name = 'TemplateDowngradeError';
  }
}

/** `index-templates/` next to `src/` and `dist/` (the same relative path from both). */
export function shippedTemplatesDir(): string {
  return fileURLToPath(new URL('../../index-templates/', import.meta.url));
}

export function loadTemplates(dir = shippedTemplatesDir()): TemplateSet {
  const read = (sub: string): Record<string, TemplateBody> => {
    const out: Record<string, TemplateBody> = {};
    for (const file of readdirSync(join(dir, sub))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const body = JSON.parse(readFileSync(join(dir, sub, file), 'utf8')) as TemplateBody;
      if (!Number.isInteger(body.version)) throw new Error(`${sub}/${file} has no integer "version"`);
      out[basename(file, '.json')] = body;
    }
    return out;
  };
  return { component: read('component'), index: read('index') };
}

function withRetention(set: TemplateSet, retention: InstallOptions['retention']): TemplateSet {
  if (!retention) return set;
  const index: Record<string, TemplateBody> = {};
  for (const [name, body] of Object.entries(set.index)) {
    const pattern = body.index_patterns?.[0] ?? '';
    const value = pattern.startsWith('logs-')
      ? retention.logs
      : pattern.startsWith('metrics-')
        ? retention.metrics
        : undefined;
    if (value && body.data_stream) {
      index[name] = { ...body, template: { ...(body.template ?? {}), lifecycle: { data_retention: value } } };
    } else index[name] = body;
  }
  return { component: set.component, index };
}

async function installedVersion(
  client: Client,
  kind: TemplateKind,
  name: string,
): Promise<number | undefined> {
  // One name per request: a comma-separated list is refused for index templates.
  if (kind === 'component') {
    const response = await client.cluster.getComponentTemplate({ name }, { ignore: [404] });
    const found = (response.component_templates ?? []).find((t) => t.name === name);
    return found ? (found.component_template.version ?? 0) : undefined;
  }
  const response = await client.indices.getIndexTemplate({ name }, { ignore: [404] });
  const found = (response.index_templates ?? []).find((t) => t.name === name);
  return found ? (found.index_template.version ?? 0) : undefined;
}

/** Computes what `installTemplates` would do. Throws {@link TemplateDowngradeError} on a downgrade. */
export async function planTemplates(client: Client, set: TemplateSet): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  const conflicts: TemplateDowngradeError['conflicts'] = [];
  for (const kind of ['component', 'index'] as const) {
    const bodies = set[kind];
    const names = Object.keys(bodies);
    const installed = await Promise.all(names.map((name) => installedVersion(client, kind, name)));
    for (const [i, name] of names.entries()) {
      const body = bodies[name] as TemplateBody;
      const from = installed[i];
      if (from === undefined) steps.push({ kind, name, action: 'create', to: body.version });
      else if (from === body.version) steps.push({ kind, name, action: 'unchanged', from, to: body.version });
      else if (from < body.version) steps.push({ kind, name, action: 'upgrade', from, to: body.version });
      else conflicts.push({ kind, name, installed: from, shipped: body.version });
    }
  }
  if (conflicts.length > 0) throw new TemplateDowngradeError(conflicts);
  return steps;
}

/** Data streams (not plain indices) whose names match any of the patterns. */
export async function matchingDataStreams(client: Client, patterns: string[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const resolved = await client.indices.resolveIndex(
    { name: patterns, expand_wildcards: ['open', 'hidden'] },
    { ignore: [404] },
  );
  return (resolved.data_streams ?? []).map((d) => d.name).sort();
}

/**
 * The index templates affected by the plan: upgraded themselves, or composed of an upgraded component.
 * (Only upgrades trigger rollovers: a created template governs no existing data stream of ours.)
 */
function upgradedIndexTemplates(set: TemplateSet, steps: PlanStep[]): string[] {
  const upgradedComponents = new Set(
    steps.filter((s) => s.kind === 'component' && s.action === 'upgrade').map((s) => s.name),
  );
  return Object.entries(set.index)
    .filter(([name, body]) => {
      const own = steps.find((s) => s.kind === 'index' && s.name === name);
      return own?.action === 'upgrade' || (body.composed_of ?? []).some((c) => upgradedComponents.has(c));
    })
    .map(([name]) => name);
}

/** Index settings for the shard layout; an explicit replica count replaces auto-expansion. */
export function shardSettings(shards: InstallOptions['shards']): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (shards?.primaries !== undefined) {
    if (!Number.isInteger(shards.primaries) || shards.primaries < 1)
      throw new Error(`shards.primaries must be a positive integer, not ${shards.primaries}`);
    settings['index.number_of_shards'] = shards.primaries;
  }
  if (shards?.replicas !== undefined) {
    if (!Number.isInteger(shards.replicas) || shards.replicas < 0)
      throw new Error(`shards.replicas must be a non-negative integer, not ${shards.replicas}`);
    settings['index.auto_expand_replicas'] = false;
    settings['index.number_of_replicas'] = shards.replicas;
  }
  return settings;
}

function withShards(set: TemplateSet, shards: InstallOptions['shards']): TemplateSet {
  const settings = shardSettings(shards);
  if (Object.keys(settings).length === 0) return set;
  const index: Record<string, TemplateBody> = {};
  for (const [name, body] of Object.entries(set.index)) {
    const template = (body.template ?? {}) as { settings?: Record<string, unknown> };
    index[name] = body.data_stream
      ? { ...body, template: { ...template, settings: { ...(template.settings ?? {}), ...settings } } }
      : body;
  }
  return { component: set.component, index };
}

export async function installTemplates(client: Client, options: InstallOptions = {}): Promise<SetupResult> {
  const set = withShards(
    withRetention(options.templates ?? loadTemplates(), options.retention),
    options.shards,
  );
  const steps = await planTemplates(client, set);
  const toRollOver = upgradedIndexTemplates(set, steps);
  const streams = new Set<string>();
  for (const name of toRollOver) {
    const body = set.index[name];
    if (body?.data_stream)
      for (const ds of await matchingDataStreams(client, body.index_patterns ?? [])) streams.add(ds);
  }
  const rolledOver = [...streams].sort();
  const changed = steps.some((s) => s.action !== 'unchanged');
  if (options.dryRun) return { dryRun: true, steps, rolledOver, changed };

  // Components first: an index template may only reference components that exist.
  for (const step of steps) {
    if (step.action === 'unchanged') continue;
    const body = set[step.kind][step.name] as TemplateBody;
    if (step.kind === 'component') {
      await client.cluster.putComponentTemplate({ name: step.name, ...(body as object) } as never);
    }
  }
  for (const step of steps) {
    if (step.action === 'unchanged' || step.kind !== 'index') continue;
    const body = set.index[step.name] as TemplateBody;
    await client.indices.putIndexTemplate({ name: step.name, ...(body as object) } as never);
  }
  for (const stream of rolledOver) await client.indices.rollover({ alias: stream });
  for (const name of toRollOver) {
    const body = set.index[name];
    if (!body || body.data_stream) continue;
    const properties = composedProperties(set, body);
    if (Object.keys(properties).length === 0) continue;
    await client.indices.putMapping({
      index: (body.index_patterns ?? []).join(','),
      properties: properties as never,
      allow_no_indices: true,
      ignore_unavailable: true,
    });
  }
  return { dryRun: false, steps, rolledOver, changed };
}

/** The mapping properties an index template composes (components in order, then its own). */
function composedProperties(set: TemplateSet, body: TemplateBody): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const propertiesOf = (t: TemplateBody | undefined) =>
    ((t?.template as { mappings?: { properties?: Record<string, unknown> } } | undefined)?.mappings
      ?.properties ?? {}) as Record<string, unknown>;
  for (const c of body.composed_of ?? []) Object.assign(out, propertiesOf(set.component[c]));
  Object.assign(out, propertiesOf(body));
  return out;
}

/** Human-readable lines for `mlmon setup`. */
export function describeSetup(result: SetupResult): string[] {
  const verb = result.dryRun ? 'would ' : '';
  const lines = result.steps.map((s) => {
    const label = `${s.kind === 'component' ? 'component template' : 'index template'} ${s.name}`;
    if (s.action === 'create') return `${label}: ${verb}create (version ${s.to})`;
    if (s.action === 'upgrade') return `${label}: ${verb}upgrade version ${s.from} -> ${s.to}`;
    return `${label}: unchanged (version ${s.to})`;
  });
  for (const stream of result.rolledOver)
    lines.push(`data stream ${stream}: ${verb}roll over to take the new mapping`);
  if (!result.changed) lines.push('nothing to do: every template is up to date');
  return lines;
}
