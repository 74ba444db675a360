/**
 * The analysis jobs the scheduler runs by default (`jobs: [drift, quality, performance, service]`),
 * each a thin adapter from the scheduler's window contract to the analyzer:
 *
 * - `drift` and `quality` come from ONE aggregation request per window (`analyze`), so they are one
 *   job: `drift` writes both; `quality` runs it only when `drift` is not also configured.
 * - `performance` joins newly arrived outcomes first (incremental, checkpointed; the join refreshes
 *   the evaluation stream, so the window counts every label joined), then computes the window's
 *   realised and estimated performance (the estimate with the score calibration stored with the
 *   model's baseline, unless `performance.calibration: none`); done windows whose labels changed within
 *   `performance.labelHorizon` are re-run (`labelledWindows`, see Scheduler.planRelabel).
 * - `service` computes latency percentiles, throughput and error rate.
 * All write with deterministic ids, so a re-run window replaces its documents.
 */
import { calibrationLookup } from '../../analyzer/baseline.js';
import { lossModelLookup } from '../../analyzer/loss-estimate.js';
import { analyze, AnalyzeError } from '../../analyzer/job.js';
import { runJoin } from '../../analyzer/join.js';
import { runPerformanceJob } from '../../analyzer/performance.js';
import { detectTask } from '../../analyzer/run.js';
import { runServiceHealthJob } from '../../analyzer/service.js';
import { DEFAULT_BASELINE_ID } from '../../profiles/store.js';
import { resultStream, streamNames } from '../../schema/streams.js';
import { configuredBounds } from '../../analyzer/performance-request.js';
import { labelledWindows } from '../../analyzer/labelled-windows.js';
import type { WindowTarget } from '../../analyzer/window-target.js';
import type { LabelProbeContext, ResultSummary, WindowJob, WindowJobContext } from './contract.js';

function windowSizeLabel(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

async function driftAndQuality(ctx: WindowJobContext): Promise<ResultSummary[]> {
  const { modelConfig, window } = ctx;
  try {
    const result = await analyze(ctx.client, {
      namespace: ctx.namespace,
      model: ctx.model.name,
      version: ctx.model.version,
      from: window.start,
      to: window.end,
      windowMs: window.end.getTime() - window.start.getTime(),
      windowSize: windowSizeLabel(modelConfig.windowMs),
      anchor: window.start,
      reference: { type: 'baseline', id: modelConfig.baseline ?? DEFAULT_BASELINE_ID },
    });
    for (const s of result.skipped)
      ctx.log.warn('drift.version_skipped', `version ${s.version} skipped: ${s.reason}`, {
        version: s.version,
      });
    return result.documents.map((d) => ({
      stream: resultStream(d.stream, ctx.namespace),
      id: d.id,
      document: d.document,
    }));
  } catch (error) {
    // An empty window is a normal state of affairs for a scheduler, not a failure to retry.
    if (error instanceof AnalyzeError && /^No predictions/.test(error.message)) {
      ctx.log.info('drift.empty_window', 'no predictions in this window', {
        window: window.start.toISOString(),
      });
      return [];
    }
    throw error;
  }
}

export const driftJob: WindowJob = async (ctx) => ({ documents: await driftAndQuality(ctx) });

export const qualityJob: WindowJob = async (ctx) => {
  const names = ctx.modelConfig.jobs.map((j) => j.name);
  if (names.includes('drift')) return { documents: [] }; // written by the drift job's request
  return { documents: await driftAndQuality(ctx) };
};

/** The scheduler's window as the analyzer's jobs take it (analyzer/window-target.ts). */
function windowTargetOf(ctx: WindowJobContext): WindowTarget {
  return { namespace: ctx.namespace, model: ctx.model.name, version: ctx.model.version, window: ctx.window };
}

const performanceWindow: WindowJob = async (ctx) => {
  const { client, namespace, model, modelConfig } = ctx;
  await runJoin(client, { namespace, model: model.name });
  ctx.signal.throwIfAborted();
  const task = await detectTask(client, namespace, model.name);
  if (!task) return { documents: [] };
  const bounds = configuredBounds(modelConfig.performance.bounds);
  // The estimate maps scores through the calibration stored with the model's baseline (per version).
  const lookup = calibrationLookup(client, {
    namespace,
    model: model.name,
    reference: { type: 'baseline', id: modelConfig.baseline ?? DEFAULT_BASELINE_ID },
    mode: modelConfig.performance.calibration,
    positiveClass: modelConfig.performance.positiveClass,
  });
  const calibration = async (version: string) => {
    const found = await lookup(version);
    if (found.note)
      ctx.log.warn('performance.uncalibrated', `estimated performance from raw scores for ${found.note}`, {
        version,
      });
    return found.calibration;
  };
  // Regression: the estimated MAE/RMSE apply the loss model stored with the baseline (per version).
  const lossModels = lossModelLookup(client, {
    namespace,
    model: model.name,
    reference: { type: 'baseline', id: modelConfig.baseline ?? DEFAULT_BASELINE_ID },
  });
  const lossModel = async (version: string) => (await lossModels(version)).lossModel;
  const result = await runPerformanceJob(client, {
    ...windowTargetOf(ctx),
    task,
    positiveClass: modelConfig.performance.positiveClass,
    threshold: modelConfig.performance.threshold,
    ...(task === 'binary' ? { calibration } : {}),
    ...(task === 'regression' ? { lossModel } : {}),
    bounds,
  });
  const stream = streamNames(namespace).performance;
  return { documents: result.documents.map((d) => ({ stream, id: d.id, document: d.document })) };
};

/**
 * The performance job re-runs for done windows whose labels changed: the probe joins the outcomes
 * that arrived (so the evaluation stream is current) and lists the windows they landed in.
 */
export const performanceJob: WindowJob = Object.assign(performanceWindow, {
  labelledWindows: async (ctx: LabelProbeContext) => {
    await runJoin(ctx.client, { namespace: ctx.namespace, model: ctx.model.name });
    return labelledWindows(ctx.client, {
      namespace: ctx.namespace,
      model: ctx.model.name,
      version: ctx.model.version,
      windowMs: ctx.windowMs,
      horizonStart: ctx.horizonStart,
      since: ctx.since,
      recentFrom: ctx.recentFrom,
    });
  },
});

export const serviceJob: WindowJob = async (ctx) => {
  const result = await runServiceHealthJob(ctx.client, windowTargetOf(ctx));
  const stream = streamNames(ctx.namespace).service;
  return { documents: result.documents.map((d) => ({ stream, id: d.id, document: d.document })) };
};
