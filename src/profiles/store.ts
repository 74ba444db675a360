/**
 * Baselines: reference profiles stored in the `mlmon-baselines` index, one document per
 * (namespace, model, version, baseline id): a `staging` and a `prod` baseline of one model version
 * are two documents. The profile is stored unindexed (read whole by id); what it came from (file
 * path or namespace and time window), its size and its fields are indexed for listing.
 *
 * Documents stored before baselines had a namespace carry none: their id is the one the default
 * namespace still uses, so they are read, listed and deleted as the default namespace's baselines.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { BASELINES_INDEX, DEFAULT_NAMESPACE, parseStream } from '../schema/streams.js';
import type { DatasetProfile } from './types.js';

export const DEFAULT_BASELINE_ID = 'default';

export interface BaselineKey {
  model: string;
  version: string;
  /** Baseline id within the model version (default `default`). */
  id?: string;
  /** Data stream namespace the baseline belongs to (default `default`). */
  namespace?: string;
}

export interface StoredBaseline {
  model: string;
  version: string;
  id: string;
  namespace: string;
  created: string;
  profile: DatasetProfile;
}

/** Where a baseline's data came from, as indexed for listing. */
export interface BaselineSource {
  type: 'file' | 'elasticsearch';
  path?: string;
  namespace?: string;
  from?: string;
  to?: string;
}

export function describeSource(source: DatasetProfile['source']): BaselineSource {
  if (source.kind === 'file') return { type: 'file', path: source.path };
  const stream = parseStream(source.index);
  const ns = stream?.type === 'logs' && stream.kind === 'prediction' ? stream.namespace : undefined;
  return { type: 'elasticsearch', ...(ns ? { namespace: ns } : {}), from: source.from, to: source.to };
}

export interface BaselineSummary extends Omit<StoredBaseline, 'profile'> {
  source: BaselineSource;
  count: number;
  features: string[];
  calibration: BaselineCalibrationSummary;
}

export class BaselineExistsError extends Error {
  override name = 'BaselineExistsError';
}

/**
 * Deterministic document id: one document per (namespace, model, version, baseline id), whatever
 * characters they hold. The default namespace keeps the id of the documents stored before
 * baselines had a namespace, so those stay found (as the default namespace's).
 */
export function baselineDocumentId(key: BaselineKey): string {
  const namespace = key.namespace ?? DEFAULT_NAMESPACE;
  const parts = [key.model, key.version, key.id ?? DEFAULT_BASELINE_ID];
  if (namespace !== DEFAULT_NAMESPACE) parts.push(namespace);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
}

/** How a message names a baseline: the namespace is said when it is not the default one. */
export function describeBaseline(key: BaselineKey): string {
  const namespace = key.namespace ?? DEFAULT_NAMESPACE;
  const where = namespace === DEFAULT_NAMESPACE ? '' : ` in namespace ${namespace}`;
  return `baseline "${key.id ?? DEFAULT_BASELINE_ID}" of model ${key.model} version ${key.version}${where}`;
}

/**
 * Store a profile. Refuses to overwrite an existing baseline unless `replace` is set (a baseline
 * silently changing under stored results would make old and new results incomparable).
 */
export async function saveBaseline(
  client: Client,
  key: BaselineKey,
  profile: DatasetProfile,
  options: { replace?: boolean; refresh?: boolean } = {},
): Promise<StoredBaseline> {
  const id = key.id ?? DEFAULT_BASELINE_ID;
  const namespace = key.namespace ?? DEFAULT_NAMESPACE;
  const created = new Date().toISOString();
  const document = {
    '@timestamp': created,
    model: { name: key.model, version: key.version },
    baseline: {
      id,
      // Kept in _source, not indexed (the mapping is `dynamic: false`): reads go by document id,
      // and listing filters on it after the search (a handful of documents per model).
      namespace,
      created,
      source: describeSource(profile.source),
      count: profile.rowCount,
      features: Object.keys(profile.features),
      calibration: calibrationSummary(profile),
    },
    profile,
  };
  try {
    await client.index({
      index: BASELINES_INDEX,
      id: baselineDocumentId(key),
      op_type: options.replace ? 'index' : 'create',
      document,
      refresh: options.refresh === false ? false : 'wait_for',
    });
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 409) {
      throw new BaselineExistsError(
        `${capitalise(describeBaseline(key))} exists; pass --replace to overwrite it.`,
      );
    }
    throw error;
  }
  return { model: key.model, version: key.version, id, namespace, created, profile };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The score calibration of a baseline as indexed for listing: the map's size, or why there is none. */
export interface BaselineCalibrationSummary {
  method: 'isotonic' | 'none';
  /** labelled reference predictions (absent for a profile that never looked for labels) */
  labelled?: number;
  positives?: number;
  knots?: number;
  reason?: string;
}

export function calibrationSummary(profile: DatasetProfile): BaselineCalibrationSummary {
  const map = profile.calibration;
  if (map)
    return { method: 'isotonic', labelled: map.count, positives: map.positives, knots: map.scores.length };
  const why = profile.uncalibrated;
  if (why) return { method: 'none', labelled: why.labelled, positives: why.positives, reason: why.reason };
  return { method: 'none' };
}

interface BaselineDocument {
  model: { name: string; version: string };
  baseline: {
    id: string;
    /** absent in documents stored before baselines had a namespace: those are the default's */
    namespace?: string;
    created: string;
    source: BaselineSource;
    count: number;
    features: string[];
    /** absent in documents stored before mapping version 2 */
    calibration?: BaselineCalibrationSummary;
  };
  profile: DatasetProfile;
}

/** The stored baseline, or undefined when there is none. */
export async function getBaseline(client: Client, key: BaselineKey): Promise<StoredBaseline | undefined> {
  try {
    const doc = await client.get<BaselineDocument>({ index: BASELINES_INDEX, id: baselineDocumentId(key) });
    const s = doc._source;
    if (!s) return undefined;
    return {
      model: s.model.name,
      version: s.model.version,
      id: s.baseline.id,
      namespace: s.baseline.namespace ?? DEFAULT_NAMESPACE,
      created: s.baseline.created,
      profile: s.profile,
    };
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return undefined;
    throw error;
  }
}

/** Stored baselines (without their profiles), newest first, optionally for one model and namespace. */
export async function listBaselines(
  client: Client,
  filter: { model?: string; namespace?: string } = {},
): Promise<BaselineSummary[]> {
  try {
    const r = await client.search<BaselineDocument>({
      index: BASELINES_INDEX,
      size: 1000,
      _source: ['model', 'baseline'],
      query: filter.model ? { term: { 'model.name': filter.model } } : { match_all: {} },
      sort: [{ 'baseline.created': 'desc' }],
    });
    return r.hits.hits.flatMap((h) => {
      const s = h._source;
      if (!s) return [];
      const namespace = s.baseline.namespace ?? DEFAULT_NAMESPACE;
      if (filter.namespace !== undefined && namespace !== filter.namespace) return [];
      return [
        {
          model: s.model.name,
          version: s.model.version,
          id: s.baseline.id,
          namespace,
          created: s.baseline.created,
          source: s.baseline.source,
          count: s.baseline.count,
          features: s.baseline.features,
          calibration: s.baseline.calibration ?? { method: 'none' },
        },
      ];
    });
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return [];
    throw error;
  }
}

/**
 * Delete one baseline; returns what was deleted (without its profile), or undefined when there
 * was none. Results already written against it keep their `reference.id`.
 */
export async function deleteBaseline(
  client: Client,
  key: BaselineKey,
  options: { refresh?: boolean } = {},
): Promise<Omit<StoredBaseline, 'profile'> | undefined> {
  const stored = await getBaseline(client, key);
  if (!stored) return undefined;
  try {
    await client.delete({
      index: BASELINES_INDEX,
      id: baselineDocumentId(key),
      refresh: options.refresh === false ? false : 'wait_for',
    });
  } catch (error) {
    // Deleted meanwhile (by another run): nothing was deleted by this one.
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return undefined;
    throw error;
  }
  const { profile: _profile, ...deleted } = stored;
  return deleted;
}
