/**
 * The `comparison` job (A/B, champion/challenger): when two or more versions of the model are live
 * in the window, each later version is compared with the champion on the labelled predictions
 * (analyzer/version-comparison.ts) and one document per pair goes to the performance stream with
 * `performance.scope: comparison`. Add `comparison` to a model's `jobs` (with `versions: all`, the
 * default). Like the performance job it joins newly arrived outcomes first and is re-run for done
 * windows whose labels changed (the same label probe).
 */
import { runJoin } from '../../analyzer/join.js';
import { detectTask } from '../../analyzer/run.js';
import { runVersionComparisonJob } from '../../analyzer/version-comparison.js';
import { streamNames } from '../../schema/streams.js';
import { performanceJob } from './analysis.js';
import type { WindowJob } from './contract.js';

const comparisonWindow: WindowJob = async (ctx) => {
  const { client, namespace, model, modelConfig } = ctx;
  await runJoin(client, { namespace, model: model.name });
  ctx.signal.throwIfAborted();
  const task = await detectTask(client, namespace, model.name);
  if (!task) return { documents: [] };
  const level = typeof ctx.options.level === 'number' ? ctx.options.level : undefined;
  const result = await runVersionComparisonJob(client, {
    namespace,
    model: model.name,
    window: ctx.window,
    task,
    positiveClass: modelConfig.performance.positiveClass,
    threshold: modelConfig.performance.threshold,
    level,
  });
  for (const o of result.outcomes)
    ctx.log.info(
      'comparison.verdict',
      `version ${o.versionB} against ${o.versionA}: ${o.metric} ${o.difference === null ? 'not computed' : `B − A ${o.difference.toFixed(4)}`} (p ${o.pValue === null ? '-' : o.pValue.toPrecision(2)}): ${o.verdict}`,
      { version_a: o.versionA, version_b: o.versionB, verdict: o.verdict, p_value: o.pValue },
    );
  const stream = streamNames(namespace).performance;
  return { documents: result.documents.map((d) => ({ stream, id: d.id, document: d.document })) };
};

export const comparisonJob: WindowJob = Object.assign(comparisonWindow, {
  labelledWindows: performanceJob.labelledWindows,
});
