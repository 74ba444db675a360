/**
 * Late labels: which done windows of a label-dependent job (performance) received labels since the
 * last pass, and running them again. Moved out of scheduler.ts, which calls both once per pass.
 */
import type { Client } from '@elastic/elasticsearch';
import type { ModelConfig } from '../schema/config.js';
import type { TimeWindow } from '../schema/window.js';
import type { WindowJob } from './jobs/contract.js';
import type { StructuredLogger } from './log.js';
import type { SchedulerMetrics } from './metrics.js';
import { isSettled, type JobTarget, type StateStore } from './state.js';
import { alignDown } from './windows.js';
import { type WindowOutcome, windowLogFields } from './window-run.js';

/**
 * Labels joined within this margin before a pass may still be invisible to its search (written but
 * not yet refreshed by another process): the label cursor stops this far back and remembers what
 * it saw inside the margin, so that such a label still marks its window at the next pass.
 */
export const LABEL_SETTLE_MS = 60_000;

export interface RelabelPlan {
  target: JobTarget;
  entry: ModelConfig['jobs'][number];
  job: WindowJob;
  /** done windows to run again, oldest first */
  windows: TimeWindow[];
  /** false when a window with new labels is being processed right now: keep the cursor, look again */
  canCommit: boolean;
  commit: () => Promise<boolean>;
}

/** What relabelling needs of its scheduler. */
export interface RelabelDeps {
  client: Client;
  log: StructuredLogger;
  metrics?: SchedulerMetrics;
  store: StateStore;
}

/**
 * The done windows of a label-dependent job whose labels changed since the label cursor, within
 * the model's `performance.labelHorizon`. Cost: one search over the labels joined since the
 * cursor (see analyzer/labelled-windows.ts) and one multi-get of those windows' states.
 *
 * The cursor is a time `since` plus, per window, the count and latest join time of the labels
 * joined at or after `since` as seen then. A window is dirty when its figures now differ: a new
 * label (count up), a corrected one (latest up), or one that was written before the cursor's
 * time but became searchable only after (count up). The new cursor stops LABEL_SETTLE_MS before
 * the search, so such late-visible labels are always within its range.
 */
export async function planRelabel(
  deps: RelabelDeps,
  model: ModelConfig,
  target: JobTarget,
  entry: ModelConfig['jobs'][number],
  job: WindowJob,
  now: number,
): Promise<RelabelPlan> {
  const probe = job.labelledWindows as NonNullable<WindowJob['labelledWindows']>;
  const cursor = await deps.store.readLabelCursor(target);
  const since = cursor?.source.state.detail.since ?? null;
  const recentFrom = Math.max(Date.now() - LABEL_SETTLE_MS, since ?? -Infinity);
  const horizonStart = alignDown(now - model.performance.labelHorizonMs, model.windowMs);
  const found = await probe({
    client: deps.client,
    model: target.model,
    namespace: target.namespace,
    windowMs: model.windowMs,
    horizonStart,
    since,
    recentFrom,
    modelConfig: model,
    log: deps.log.child({ job: target.job, model: target.model.name }),
  });
  const seen = new Map((cursor?.source.state.detail.recent ?? []).map((r) => [r.start, r]));
  const changed = found.filter((w) => {
    const before = seen.get(w.start);
    return !before || before.count !== w.count || before.latest !== w.latest;
  });
  const candidates = changed.map((w) => ({
    start: new Date(w.start),
    end: new Date(w.start + model.windowMs),
  }));
  const latestJoin = new Map(changed.map((w) => [w.start, w.latest]));
  const states = await deps.store.windowStates(target, candidates);
  const windows = candidates.filter((w) => {
    const state = states.get(w.start.getTime());
    if (!isSettled(state)) return false;
    // Labels all joined before the window was finished were in its computation: the window's own
    // job joins the outcomes that arrived before it ran (the first pass after logging predictions
    // with `actual` is one), so they are not "new" to it. Only a label joined later re-runs it.
    const finishedAt = Date.parse(state?.state.detail.finishedAt ?? '');
    return !(Number.isFinite(finishedAt) && (latestJoin.get(w.start.getTime()) ?? Infinity) <= finishedAt);
  });
  // A window with new labels that is being processed right now may have missed them.
  const canCommit = !candidates.some((w) => states.get(w.start.getTime())?.state.kind === 'lock');
  const recent = found
    .filter((w) => w.recent.count > 0)
    .map((w) => ({ start: w.start, count: w.recent.count, latest: w.recent.latest }));
  if (changed.length > 0)
    deps.log.info(
      'labels.changed',
      `${changed.length} windows received labels; ${windows.length} done ones re-run`,
      {
        ...windowLogFields(target),
        'windows.labelled': changed.length,
        'windows.rerun': windows.length,
      },
    );
  return {
    target,
    entry,
    job,
    windows,
    canCommit,
    commit: () => deps.store.writeLabelCursor(target, { since: recentFrom, recent }, cursor),
  };
}

/**
 * Runs a done window's job again (its labels changed). No window lock: the window stays done, the
 * job writes with deterministic ids, so a replica doing the same at the same time only repeats
 * identical writes; the label cursor (compare-and-swap) moves once.
 */
export async function reprocessWindow(
  deps: RelabelDeps,
  model: ModelConfig,
  plan: RelabelPlan,
  window: TimeWindow,
): Promise<WindowOutcome> {
  const { log, metrics, client } = deps;
  const fields = { ...windowLogFields(plan.target, window), reason: 'labels' };
  try {
    const result = await plan.job({
      client,
      model: plan.target.model,
      namespace: plan.target.namespace,
      window: { start: window.start, end: window.end },
      signal: new AbortController().signal,
      options: plan.entry.options,
      modelConfig: model,
      log: log.child({ job: plan.target.job, model: plan.target.model.name }),
    });
    metrics?.observe(result.documents);
    log.info(
      'window.reprocessed',
      `window re-run for new labels: ${result.documents.length} result documents`,
      {
        ...fields,
        documents: result.documents.length,
      },
    );
    return 'reprocessed';
  } catch (error) {
    log.error('window.failed', 'window re-run for new labels failed; retried at the next pass', {
      ...fields,
      error,
    });
    return 'failed';
  }
}
