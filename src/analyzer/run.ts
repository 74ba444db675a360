/**
 * Everything `mlmon analyze` does for a model and a time range, in one call shared by the CLI, the
 * demo and the scheduler: join new outcomes, then per window drift and quality (one aggregation
 * request per window), performance (realised where labels exist, estimated from the scores where
 * they do not) and service health, each written with deterministic ids.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Label, PerformanceBounds } from '../stats/performance/index.js';
import { analyze, type AnalyzeOptions, type AnalyzeResult } from './job.js';
import { runJoin, type JoinResult } from './join.js';
import { runPerformanceJob, type PerformanceResult, type PerformanceTask } from './performance.js';
import { streamNames } from '../schema/streams.js';
import { runServiceHealthJob } from './service.js';
import { calibrationLookup } from './baseline.js';
import { lossModelLookup } from './loss-estimate.js';
import { refreshInputs } from './refresh.js';
import type { CalibrationMode } from '../stats/performance/calibration.js';
import { splitWindows } from './windows.js';
import { runVersionComparisonJob, type ComparisonJobResult } from './version-comparison.js';
import type { WindowTarget } from './window-target.js';
import { search } from '../elastic/search.js';

export interface FullAnalysisOptions extends AnalyzeOptions {
  /** Performance task; default: detected from the prediction fields (value → regression, score → binary, label → multiclass). */
  task?: PerformanceTask;
  positiveClass?: Label;
  threshold?: number;
  /** `labels.*` names to compute per-segment performance and fairness for. */
  segments?: string[];
  bounds?: Record<string, PerformanceBounds>;
  /** Skip performance and service health (drift and quality only). */
  driftOnly?: boolean;
  /**
   * Binary CBPE estimate: `isotonic` (default) maps scores through the calibration stored with the
   * reference (raw scores, with a note, when it has none); `none` takes raw scores.
   */
  calibration?: CalibrationMode;
}

export interface WindowPerformance {
  start: string;
  end: string;
  version: string;
  performance: Array<Record<string, unknown>>;
  service: Array<Record<string, unknown>>;
}

export interface FullAnalysisResult {
  drift: AnalyzeResult;
  join?: JoinResult;
  task?: PerformanceTask;
  windows: WindowPerformance[];
  /** A/B: per window where two or more versions were live, each later version against the champion. */
  comparisons: Array<{ start: string; end: string; outcomes: ComparisonJobResult['outcomes'] }>;
  /** One line each: what was not computed and how to get it (e.g. drift without a baseline). */
  notes: string[];
}

/**
 * The performance task from what the model's prediction documents carry. Counted on the data, not
 * read from the mapping: the templates map every prediction field whether a model uses it or not.
 *
 * One search per kind, each stopping at the first matching document of each shard
 * (`terminate_after: 1`): the scheduler asks once per performance window, and an aggregation over
 * every prediction of the model made that look-up grow with the whole history.
 */
export async function detectTask(
  client: Client,
  namespace: string,
  model?: string,
): Promise<PerformanceTask | undefined> {
  const kinds = [
    ['regression', 'prediction.value'],
    ['binary', 'prediction.score'],
    ['multiclass', 'prediction.label'],
  ] as const;
  const found = await Promise.all(
    kinds.map(async ([task, field]) => {
      const response = await search(
        client,
        {
          index: streamNames(namespace).prediction,
          size: 0,
          terminate_after: 1,
          track_total_hits: true,
          ignore_unavailable: true,
          allow_no_indices: true,
          query: {
            bool: {
              filter: [...(model ? [{ term: { 'model.name': model } }] : []), { exists: { field } }],
            },
          },
        },
        { ignore: [404] },
      );
      const total = response.hits?.total;
      return (typeof total === 'number' ? total : (total?.value ?? 0)) > 0 ? task : undefined;
    }),
  );
  return found.find((task) => task !== undefined);
}

/** Versions with predictions: those the drift job analyzed and those it skipped (no reference). */
function versionsOf(drift: AnalyzeResult): string[] {
  return [
    ...new Set([...drift.versions.map((v) => v.version), ...drift.skipped.map((s) => s.version)]),
  ].sort();
}

export async function runFullAnalysis(
  client: Client,
  options: FullAnalysisOptions,
): Promise<FullAnalysisResult> {
  const write = options.write ?? true;
  await refreshInputs(client, options.namespace);
  // Join first, so that labels that arrived since the last run count in this run's windows (the
  // join refreshes the evaluation stream after writing: the performance job below sees them all).
  const join =
    write && !options.driftOnly
      ? await runJoin(client, { namespace: options.namespace, model: options.model })
      : undefined;
  // Without a reference (no baseline yet), drift is skipped with a note; performance and service
  // health need none. With --drift-only there is nothing else to do, so the missing baseline is an error.
  const drift = await analyze(client, { ...options, allowMissingReference: !options.driftOnly });
  const result: FullAnalysisResult = { drift, join, windows: [], comparisons: [], notes: [] };
  for (const s of drift.skipped)
    result.notes.push(`drift and quality skipped for version ${s.version}: ${s.reason}`);
  if (options.driftOnly) return result;
  const task = options.task ?? (await detectTask(client, options.namespace, options.model));
  result.task = task;
  const versions = options.version !== undefined ? [options.version] : versionsOf(drift);
  const windows = splitWindows(options.from, options.to, options.windowMs, options.anchor);
  const calibrationOf = calibrationLookup(client, {
    namespace: options.namespace,
    model: options.model,
    reference: options.reference,
    mode: options.calibration,
    positiveClass: options.positiveClass,
  });
  const scope = { namespace: options.namespace, model: options.model, write, refresh: options.refresh };
  const lossModelOf = lossModelLookup(client, {
    namespace: options.namespace,
    model: options.model,
    reference: options.reference,
  });
  for (const version of versions) {
    let calibration;
    let lossModel;
    if (task === 'regression') {
      const found = await lossModelOf(version);
      lossModel = found.lossModel;
      if (found.note && !drift.skipped.some((s) => s.version === version))
        result.notes.push(`no estimated MAE/RMSE for ${found.note}`);
    }
    if (task === 'binary' || task === 'multiclass') {
      const found = await calibrationOf(version);
      calibration = found.calibration;
      // A version without a reference already has its note (how to add a baseline); one is enough.
      const noReference = drift.skipped.some((s) => s.version === version);
      if (found.note && !noReference)
        result.notes.push(`estimated performance from raw scores for ${found.note}`);
    }
    // The performance settings are the same for every window of a version.
    const settings = task && {
      task,
      positiveClass: options.positiveClass,
      threshold: options.threshold,
      calibration,
      lossModel,
      segments: options.segments,
      bounds: options.bounds,
    };
    for (const window of windows) {
      // One context per window, handed whole to each job (window-target.ts).
      const target: WindowTarget = { ...scope, version, window };
      const performance: PerformanceResult[] = settings
        ? (await runPerformanceJob(client, { ...target, ...settings })).documents
        : [];
      const service = await runServiceHealthJob(client, target);
      result.windows.push({
        start: window.start.toISOString(),
        end: window.end.toISOString(),
        version,
        performance: performance.map((p) => p.document),
        service: service.documents.map((d) => d.document),
      });
    }
  }
  // A/B where more than one version was live (the comparison needs every version, so not with --version).
  if (task && options.version === undefined && versions.length > 1) {
    for (const window of windows) {
      const compared = await runVersionComparisonJob(client, {
        ...scope,
        window,
        task,
        positiveClass: options.positiveClass,
        threshold: options.threshold,
      });
      if (compared.outcomes.length > 0)
        result.comparisons.push({
          start: window.start.toISOString(),
          end: window.end.toISOString(),
          outcomes: compared.outcomes,
        });
    }
  }
  return result;
}
