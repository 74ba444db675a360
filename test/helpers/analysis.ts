import type { Client } from '@elastic/elasticsearch';
import {
  analyze,
  type AnalyzeOptions,
  type AnalyzeResult,
  type ReferenceSpec,
} from '../../src/analyzer/job.js';
import { profileFromElasticsearch } from '../../src/profiles/from-elasticsearch.js';
import type { DatasetProfile } from '../../src/profiles/types.js';
import { indexPredictions, type PredictionInput } from './predictions.js';

export interface Scenario {
  namespace: string;
  /** Prediction documents to index (model and version default to `m` / `1`). */
  rows: readonly PredictionInput[];
  model?: string;
  version?: string;
  /**
   * What the windows are compared with: a time range profiled from the indexed predictions (as
   * `mlmon baseline --from --to` does), or any reference the analyzer takes.
   */
  reference: { profileFrom: Date; profileTo: Date } | ReferenceSpec;
  /** The analyzed range and its window size. */
  from: Date;
  to: Date;
  windowMs: number;
  /** Runs after indexing and before profiling, e.g. to store a baseline. */
  prepare?: () => Promise<unknown>;
  /** Further analyze options; results are not written unless `write: true` is given here. */
  analyze?: Partial<AnalyzeOptions>;
}

export interface ScenarioRun {
  /** The profile built from Elasticsearch, when the reference was a time range. */
  profile: DatasetProfile | undefined;
  /** The options of the analysis, for a second run with changes. */
  options: AnalyzeOptions;
  result: AnalyzeResult;
}

/** The analyzer tests' common setup: index predictions → profile a reference from Elasticsearch → analyze. */
export async function indexProfileAnalyze(client: Client, s: Scenario): Promise<ScenarioRun> {
  const model = s.model ?? 'm';
  const version = s.version ?? '1';
  await indexPredictions(client, s.namespace, s.rows, { model, version });
  await s.prepare?.();
  let profile: DatasetProfile | undefined;
  let reference: ReferenceSpec;
  if ('profileFrom' in s.reference) {
    profile = await profileFromElasticsearch(client, {
      namespace: s.namespace,
      model,
      version,
      from: s.reference.profileFrom,
      to: s.reference.profileTo,
    });
    reference = { type: 'profile', id: 'es', profile };
  } else {
    reference = s.reference;
  }
  const options: AnalyzeOptions = {
    namespace: s.namespace,
    model,
    version,
    from: s.from,
    to: s.to,
    windowMs: s.windowMs,
    reference,
    write: false,
    ...s.analyze,
  };
  return { profile, options, result: await analyze(client, options) };
}
