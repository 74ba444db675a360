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
import { streamNames } from './performance-streams.js';
import { runServiceHealthJob } from './service.js';
import { splitWindows } from './windows.js';

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
}

/** The performance task from what the prediction documents carry. */
export async function detectTask(client: Client, namespace: string): Promise<PerformanceTask | undefined> {
  const caps = await client.fieldCaps(
    {
      index: streamNames(namespace).prediction,
      fields: ['prediction.value', 'prediction.score', 'prediction.label'],
      ignore_unavailable: true,
      allow_no_indices: true,
    },
    { ignore: [404] },
  );
  const has = (field: string) => Boolean(caps.fields?.[field]);
  if (has('prediction.value')) return 'regression';
  if (has('prediction.score')) return 'binary';
  if (has('prediction.label')) return 'multiclass';
  return undefined;
}

export async function runFullAnalysis(
  client: Client,
  options: FullAnalysisOptions,
): Promise<FullAnalysisResult> {
  const write = options.write ?? true;
  // Join first, so that labels that arrived since the last run count in this run's windows.
  const join =
    write && !options.driftOnly
      ? await runJoin(client, { namespace: options.namespace, model: options.model })
      : undefined;
  const drift = await analyze(client, options);
  const result: FullAnalysisResult = { drift, join, windows: [] };
  if (options.driftOnly) return result;
  const task = options.task ?? (await detectTask(client, options.namespace));
  result.task = task;
  const versions = options.version !== undefined ? [options.version] : drift.versions.map((v) => v.version);
  const windows = splitWindows(options.from, options.to, options.windowMs, options.anchor);
  for (const version of versions) {
    for (const window of windows) {
      const performance: PerformanceResult[] = task
        ? (
            await runPerformanceJob(client, {
              namespace: options.namespace,
              model: options.model,
              version,
              task,
              window,
              positiveClass: options.positiveClass,
              threshold: options.threshold,
              segments: options.segments,
              bounds: options.bounds,
              write,
              refresh: options.refresh,
            })
          ).documents
        : [];
      const service = await runServiceHealthJob(client, {
        namespace: options.namespace,
        model: options.model,
        version,
        window,
        write,
        refresh: options.refresh,
      });
      result.windows.push({
        start: window.start.toISOString(),
        end: window.end.toISOString(),
        version,
        performance: performance.map((p) => p.document),
        service: service.documents.map((d) => d.document),
      });
    }
  }
  return result;
}
