/**
 * The fitted state of multivariate drift (issue 27), stored with the baseline: which features, the
 * PCA reconstruction model (encoding, components, reference error mean and spread) and a reference
 * sample for the domain classifier with that statistic's null distribution. Fitted on a bounded
 * random sample of the reference rows (REFERENCE_SAMPLE_ROWS), drawn in Elasticsearch for
 * `mlmon baseline --from --to` and from the table for `mlmon baseline --file`.
 *
 * Rows are drawn in Elasticsearch by `sampleRows`: a function_score query with a seeded
 * random_score over `_seq_no` (boost_mode replace) returns the `size` documents with the highest
 * pseudo-random scores, i.e. a simple random sample without replacement of the window, of at most
 * `size` rows, read with the fields API (so `features.x` whatever the shape of `_source`).
 */
import type { Client } from '@elastic/elasticsearch';
import { rangeQuery } from '../elastic/filters.js';
import { search } from '../elastic/search.js';
import { logStream } from '../schema/streams.js';
import {
  DOMAIN_CLASSIFIER_THRESHOLD,
  domainClassifierNull,
} from '../stats/multivariate/domain-classifier.js';
import { MultivariateInputError, type MultivariateRow } from '../stats/multivariate/encoding.js';
import { fitReconstruction } from '../stats/multivariate/reconstruction.js';
import type { MultivariateFeature, MultivariateState, NoMultivariate } from './multivariate-state.js';
import type { Cell, Table } from './from-file.js';
import { fieldOf } from './profile.js';
import type { DatasetProfile } from './types.js';

/** Reference rows the PCA is fitted on (NannyML fits on all; a few thousand fix 65 % of d×d well). */
export const REFERENCE_SAMPLE_ROWS = 5000;
/** Reference rows kept for the domain classifier (each window's sample is classified against them). */
export const CLASSIFIER_REFERENCE_ROWS = 1000;
/** Window rows each window's multivariate statistics are computed on, at most. */
export const WINDOW_SAMPLE_ROWS = 2000;
/** The seed of every row sample: a re-run window draws the same rows. */
export const SAMPLE_SEED = 27;

/** The model input features of a profile, numeric and categorical. */
export function multivariateFeatures(profile: DatasetProfile): MultivariateFeature[] {
  return Object.entries(profile.features).flatMap(([name, p]) => {
    const { field, role } = fieldOf(name, p);
    return role === 'feature' ? [{ name, field, kind: p.kind }] : [];
  });
}

/** Fit both methods on reference rows keyed by feature name. */
export function fitMultivariate(
  rows: readonly MultivariateRow[],
  features: readonly MultivariateFeature[],
): MultivariateState | NoMultivariate {
  if (features.length < 2)
    return { reason: `multivariate drift needs 2 features or more; the reference has ${features.length}` };
  if (rows.length < 10)
    return { reason: `multivariate drift needs 10 reference rows or more; the sample has ${rows.length}` };
  const categorical = new Set(features.filter((f) => f.kind === 'categorical').map((f) => f.name));
  try {
    const reconstruction = fitReconstruction(
      rows,
      features.map((f) => f.name),
      categorical,
    );
    const referenceRows = rows.slice(0, CLASSIFIER_REFERENCE_ROWS);
    const nul = domainClassifierNull(reconstruction.encoding, referenceRows);
    return {
      features: [...features],
      sampled: rows.length,
      reconstruction,
      domainClassifier: {
        referenceRows: [...referenceRows],
        threshold: DOMAIN_CLASSIFIER_THRESHOLD,
        ...(nul ? { null: nul } : {}),
      },
    };
  } catch (error) {
    if (error instanceof MultivariateInputError) return { reason: error.message };
    throw error;
  }
}

export function isMultivariateState(s: MultivariateState | NoMultivariate): s is MultivariateState {
  return 'reconstruction' in s;
}

/** The profile with its multivariate state, or with the reason it has none. */
export function withMultivariate(
  profile: DatasetProfile,
  state: MultivariateState | NoMultivariate,
): DatasetProfile {
  return isMultivariateState(state)
    ? { ...profile, multivariate: state }
    : { ...profile, noMultivariate: state };
}

export interface SampleRowsOptions {
  namespace: string;
  model: string;
  version: string;
  from: Date;
  to: Date;
  features: readonly MultivariateFeature[];
  size: number;
  seed?: number;
}

/** A simple random sample of at most `size` prediction documents of the range (module comment). */
export async function sampleRows(
  client: Client,
  options: SampleRowsOptions,
): Promise<{ rows: MultivariateRow[]; total: number }> {
  // Through the one search path: a sample from some shards only is refused, not taken as the window.
  const r = await search(client, {
    index: logStream('prediction', options.namespace),
    ignore_unavailable: true,
    allow_no_indices: true,
    size: options.size,
    track_total_hits: true,
    _source: false,
    fields: options.features.map((f) => f.field),
    query: {
      function_score: {
        query: rangeQuery({ model: options.model, version: options.version }, options.from, options.to),
        functions: [{ random_score: { seed: options.seed ?? SAMPLE_SEED, field: '_seq_no' } }],
        boost_mode: 'replace',
      },
    },
  });
  const total = typeof r.hits.total === 'number' ? r.hits.total : (r.hits.total?.value ?? 0);
  const rows = r.hits.hits.map((h) => {
    const fields = (h.fields ?? {}) as Record<string, unknown[]>;
    const row: Record<string, number | string | null> = {};
    for (const f of options.features) {
      const v = fields[f.field]?.[0];
      row[f.name] = typeof v === 'number' || typeof v === 'string' ? v : null;
    }
    return row;
  });
  return { rows, total };
}

/** Fit the multivariate state on a random sample of the reference window's predictions. */
export async function multivariateFromElasticsearch(
  client: Client,
  profile: DatasetProfile,
  options: Omit<SampleRowsOptions, 'features' | 'size'>,
): Promise<MultivariateState | NoMultivariate> {
  const features = multivariateFeatures(profile);
  if (features.length < 2) return fitMultivariate([], features);
  const { rows } = await sampleRows(client, { ...options, features, size: REFERENCE_SAMPLE_ROWS });
  return fitMultivariate(rows, features);
}

/**
 * Fit on a reference file's rows (`mlmon baseline --file`): every row when there are at most
 * REFERENCE_SAMPLE_ROWS, else an evenly spaced subset of that many (files carry no time order
 * the profile depends on, and the choice must not change between runs).
 */
export function multivariateFromTable(
  table: Table,
  profile: DatasetProfile,
): MultivariateState | NoMultivariate {
  const features = multivariateFeatures(profile).filter((f) => table.cells.has(f.name));
  const n = Math.min(table.rowCount, REFERENCE_SAMPLE_ROWS);
  const rows: MultivariateRow[] = [];
  for (let k = 0; k < n; k++) {
    const i = Math.floor((k * table.rowCount) / n);
    const row: Record<string, Cell> = {};
    for (const f of features) row[f.name] = table.cells.get(f.name)?.[i] ?? null;
    rows.push(row);
  }
  return fitMultivariate(rows, features);
}

/** One line for people: what multivariate drift this baseline holds. */
export function describeMultivariate(profile: DatasetProfile): string | undefined {
  const m = profile.multivariate;
  if (m) {
    const r = m.reconstruction;
    const explained = r.explainedVarianceRatio.reduce((a, b) => a + b, 0);
    return `multivariate drift: PCA of ${m.features.length} features keeps ${r.components.length} components (${(100 * explained).toFixed(1)} % of the variance), reference error ${r.errorMean.toFixed(4)} ± ${r.errorStd.toFixed(4)} per row, from ${m.sampled} sampled rows; domain classifier against ${m.domainClassifier.referenceRows.length} reference rows`;
  }
  if (profile.noMultivariate) return `multivariate drift: none (${profile.noMultivariate.reason})`;
  return undefined;
}
