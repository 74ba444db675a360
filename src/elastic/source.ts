/**
 * Which monitored fields prediction documents carry: the field list from `_field_caps` (the
 * mapping, not the documents). Shared by the profile builder, the analyzer and the scheduler's
 * feature-mean job.
 */
import type { Client } from '@elastic/elasticsearch';
import type { FieldRole, ValueKind } from '../schema/fields.js';
import { logStream } from '../schema/streams.js';
import { windowFilter } from './filters.js';

export interface MonitoredField {
  name: string;
  field: string;
  role: FieldRole;
  kind: ValueKind;
  /** Mapped with more than one type across backing indices. */
  conflicting: boolean;
}

/** Elasticsearch field types whose values are numbers. */
export const NUMERIC_TYPES: ReadonlySet<string> = new Set([
  'double',
  'float',
  'half_float',
  'scaled_float',
  'long',
  'integer',
  'short',
  'byte',
]);
const FIXED_OUTPUTS: ReadonlyArray<{ field: string; role: FieldRole }> = [
  { field: 'prediction.score', role: 'prediction' },
  { field: 'prediction.value', role: 'prediction' },
  { field: 'prediction.label', role: 'prediction' },
  { field: 'actual.label', role: 'target' },
  { field: 'actual.value', role: 'target' },
];

/**
 * Monitored fields from the mapping: every `features.*` leaf, the model outputs and target that are
 * mapped, and `explanation.*`. A field mapped as a number in one backing index and as keyword in
 * another (possible after a rollover) is numeric when any index maps it as a number, and marked
 * conflicting. `index_filter` restricts the answer to backing indices that may hold the time range.
 * Returns [] when the data stream does not exist.
 */
export async function monitoredFields(
  client: Client,
  namespace: string,
  range?: { from: Date; to: Date },
): Promise<MonitoredField[]> {
  let caps;
  try {
    caps = await client.fieldCaps({
      index: logStream('prediction', namespace),
      fields: ['features.*', 'explanation.*', ...FIXED_OUTPUTS.map((o) => o.field)],
      ignore_unavailable: true,
      allow_no_indices: true,
      ...(range ? { index_filter: windowFilter({ start: range.from, end: range.to }) } : {}),
    });
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return [];
    throw error;
  }
  const out: MonitoredField[] = [];
  for (const [field, byType] of Object.entries(caps.fields)) {
    const types = Object.keys(byType).filter((t) => t !== 'object' && t !== 'nested' && t !== 'unmapped');
    if (types.length === 0) continue;
    const numeric = types.some((t) => NUMERIC_TYPES.has(t));
    const role: FieldRole | undefined = field.startsWith('features.')
      ? 'feature'
      : field.startsWith('explanation.')
        ? 'explanation'
        : FIXED_OUTPUTS.find((o) => o.field === field)?.role;
    if (!role) continue;
    if (role === 'explanation' && !numeric) continue;
    out.push({
      name: role === 'feature' ? field.slice('features.'.length) : field,
      field,
      role,
      kind: numeric ? 'numeric' : 'categorical',
      conflicting: types.length > 1,
    });
  }
  out.sort(
    (a, b) => roleOrder(a.role) - roleOrder(b.role) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return out;
}

function roleOrder(role: FieldRole): number {
  return ['feature', 'prediction', 'target', 'explanation'].indexOf(role);
}

/** The output a numeric feature is correlated with for the concept-drift signal: the score, else the value. */
export function correlationOutput(fields: readonly { field: string; kind: ValueKind }[]): string | undefined {
  for (const f of ['prediction.score', 'prediction.value']) {
    if (fields.some((x) => x.field === f && x.kind === 'numeric')) return f;
  }
  return undefined;
}

/**
 * The classes with a `prediction.probabilities.<class>` field in the prediction stream (field caps:
 * one cheap request, no documents read; the prediction or the evaluation stream); none when the model logs no probabilities. A class name
 * with a dot is stored with `_` in its place (schema/normalize.ts) and then does not match its
 * `prediction.label`; such a class is left out of the estimate.
 */
export async function probabilityClasses(client: Client, index: string): Promise<string[]> {
  const prefix = 'prediction.probabilities.';
  try {
    const caps = await client.fieldCaps({
      index,
      fields: `${prefix}*`,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    return Object.keys(caps.fields)
      .filter((f) => f.startsWith(prefix) && f.length > prefix.length)
      .map((f) => f.slice(prefix.length))
      .sort();
  } catch {
    return [];
  }
}
