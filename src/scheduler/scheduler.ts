/**
 * The scheduler: node-cron triggers a pass per model; a pass finds the due windows of every
 * (job, version) after its checkpoint, oldest first, and processes each one it can lock.
 *
 * Exactly once per window, across replicas and restarts:
 * - a window is processed only under its lock in `mlmon-state` (created exclusively, renewed by a
 *   heartbeat, taken over only after it expired) and is marked done under the same lock;
 * - a window held by another replica is skipped (that replica does it); a window whose owner died
 *   is taken over once its lock expires, at the next pass of any replica;
 * - jobs write with deterministic ids, so even the rare rerun (an owner that stalled past its
 *   lock's expiry) replaces documents instead of duplicating them.
 *
 * Windows are processed one at a time per replica (several replicas share the work), oldest first,
 * so after downtime the results appear in time order.
 */
import type { Client } from '@elastic/elasticsearch';
import cron, { type ScheduledTask } from 'node-cron';
import type { MlmonConfig, ModelConfig } from '../schema/config.js';
import { runHooks } from './hooks.js';
import type { ModelRef, WindowJob } from './jobs/contract.js';
import type { JobRegistry } from './jobs/registry.js';
import type { StructuredLogger } from './log.js';
import type { SchedulerMetrics } from './metrics.js';
import { type HeldLock, type JobTarget, isSettled, StateStore } from './state.js';
import type { TimeWindow } from '../schema/window.js';
import { alignDown, latestDueEnd, planWindows } from './windows.js';
import { formatDuration } from '../schema/duration.js';
import { REPORT_JOB, reportSchedules } from './reports.js';
import { refreshInputs, refreshResults } from '../analyzer/refresh.js';

export interface SchedulerOptions {
  config: MlmonConfig;
  client: Client;
  registry: JobRegistry;
  log: StructuredLogger;
  metrics?: SchedulerMetrics;
  /**
   * Plan every window from the model's `start` (or its checkpoint), without the `maxCatchUp`
   * bound: `mlmon schedule --backfill`. Windows already done are not redone.
   */
  backfill?: boolean;
}

/** `reprocessed`: a done window run again because its labels changed (see {@link Scheduler.planRelabel}). */
export type WindowOutcome = 'processed' | 'reprocessed' | 'settled' | 'held' | 'failed' | 'lost' | 'released';

export interface WindowRun {
  job: string;
  model: ModelRef;
  namespace: string;
  window: TimeWindow;
  outcome: WindowOutcome;
}

export interface PassSummary {
  runs: WindowRun[];
  processed: number;
  /** Done windows run again because they received new or corrected labels. */
  reprocessed: number;
  failed: number;
  /** Windows left to other replicas that held their locks (still held at the end of `runDue`). */
  held: number;
}

/**
 * Labels joined within this margin before a pass may still be invisible to its search (written but
 * not yet refreshed by another process): the label cursor stops this far back and remembers what
 * it saw inside the margin, so that such a label still marks its window at the next pass.
 */
export const LABEL_SETTLE_MS = 60_000;

interface RelabelPlan {
  target: JobTarget;
  entry: ModelConfig['jobs'][number];
  job: WindowJob;
  /** done windows to run again, oldest first */
  windows: TimeWindow[];
  /** false when a window with new labels is being processed right now: keep the cursor, look again */
  canCommit: boolean;
  commit: () => Promise<boolean>;
}

/** Raised inside a job's signal when its lock was taken over by another replica. */
export class LockLostError extends Error {
  constructor(window: TimeWindow) {
    super(`lock of window ${window.start.toISOString()} was taken over by another replica`);
    this.name = 'LockLostError';
  }
}

/** Raised inside a job's signal when the scheduler shuts down and the grace period is over. */
export class ShutdownError extends Error {
  constructor() {
    super('scheduler shutting down');
    this.name = 'ShutdownError';
  }
}

interface RunningWindow {
  lock: HeldLock;
  controller: AbortController;
  released: boolean;
  done: Promise<void>;
}

/**
 * The one-line warning for windows `maxCatchUp` leaves out, naming the range and the two ways to
 * analyze it (they are never analyzed otherwise).
 */
export function skippedMessage(
  model: ModelConfig,
  maxCatchUp: number,
  skipped: number,
  range: { from: Date; to: Date },
  afterDowntime: boolean,
): string {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  const why = afterDowntime
    ? 'after the checkpoint (downtime)'
    : 'from the configured start, with no checkpoint yet,';
  return (
    `${skipped} windows ${from} → ${to} ${why} are more than scheduler.maxCatchUp (${maxCatchUp}) windows back ` +
    `and are skipped; analyze them with "mlmon schedule --backfill" or ` +
    `"mlmon analyze --model ${model.name} --namespace ${model.namespace} --from ${from} --to ${to} --window ${formatDuration(model.windowMs)}"`
  );
}

interface Unit {
  target: JobTarget;
  entry: ModelConfig['jobs'][number];
  job: WindowJob;
  window: TimeWindow;
}

/** A message naming every configured job the registry lacks, or undefined when all are known. */
export function unknownJobs(config: MlmonConfig, registry: JobRegistry): string | undefined {
  const unknown: string[] = [];
  config.models.forEach((model, i) =>
    model.jobs.forEach((entry, k) => {
      if (!registry.has(entry.name)) unknown.push(`models[${i}].jobs[${k}]: unknown job "${entry.name}"`);
    }),
  );
  if (unknown.length === 0) return undefined;
  return `${unknown.join('; ')} (registered jobs: ${registry.names().join(', ') || 'none'})`;
}

export class Scheduler {
  private readonly store: StateStore;
  /** What runs on a cron: every model, and every report job (as a pass over its periods). */
  private readonly schedules: ModelConfig[];
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<RunningWindow>();
  private readonly passes = new Set<Promise<unknown>>();
  private readonly busyModels = new Set<string>();
  private stopping: Promise<void> | undefined;
  private readonly stopWaiters = new Set<() => void>();

  constructor(private readonly options: SchedulerOptions) {
    const { config, registry } = options;
    const unknown = unknownJobs(config, registry);
    if (unknown) throw new Error(unknown);
    if (config.reports.length > 0 && !registry.has(REPORT_JOB))
      throw new Error(`reports are configured but no "${REPORT_JOB}" job is registered`);
    if (config.reports.length > 0 && !config.smtp.url)
      throw new Error('reports are configured but no SMTP server: set SMTP_URL or smtp.url');
    this.schedules = [...config.models, ...reportSchedules(config)];
    this.store = new StateStore(options.client, config.scheduler.owner, config.scheduler.lockTtlMs, {
      maxAttempts: config.scheduler.maxAttempts,
    });
  }

  get owner(): string {
    return this.options.config.scheduler.owner;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Every (job, version) of a model, in the order of the configuration. */
  targets(
    model: ModelConfig,
  ): Array<{ target: JobTarget; entry: ModelConfig['jobs'][number]; job: WindowJob }> {
    const versions = model.versions === 'all' ? [undefined] : model.versions;
    return model.jobs.flatMap((entry) =>
      versions.map((version) => ({
        target: {
          job: entry.name,
          model: version === undefined ? { name: model.name } : { name: model.name, version },
          namespace: model.namespace,
        },
        entry,
        job: this.options.registry.get(entry.name) as WindowJob,
      })),
    );
  }

  private logFields(target: JobTarget, window?: TimeWindow): Record<string, unknown> {
    return {
      job: target.job,
      model: target.model.name,
      version: target.model.version ?? '*',
      namespace: target.namespace,
      ...(window
        ? { 'window.start': window.start.toISOString(), 'window.end': window.end.toISOString() }
        : {}),
    };
  }

  /**
   * One pass over a model as of `now`: every due window not yet settled, oldest first (ties in
   * the order of the jobs), then the checkpoints moved forward.
   */
  async runModelPass(model: ModelConfig, now: number): Promise<PassSummary> {
    const { log, metrics, config } = this.options;
    const summary: PassSummary = { runs: [], processed: 0, reprocessed: 0, failed: 0, held: 0 };
    // Once per pass, before any job reads: documents written just before the pass (a backfill, a
    // replay, a service that flushed a moment ago) are searchable only after the next refresh, and
    // without it the first pass could store a window with fewer predictions than it has.
    await refreshInputs(this.options.client, model.namespace);
    const lastEnd = latestDueEnd(now, model.windowMs, model.delayMs);
    const units: Unit[] = [];
    const targets = this.targets(model);
    const bounds = new Map<JobTarget, number>();
    for (const { target, entry, job } of targets) {
      const checkpointDoc = await this.store.readCheckpoint(target);
      const checkpoint = checkpointDoc?.source.state.checkpoint
        ? Date.parse(checkpointDoc.source.state.checkpoint)
        : undefined;
      if (checkpoint !== undefined)
        metrics?.recordCheckpoint(
          { ...target, model: target.model.name, version: target.model.version },
          checkpoint,
        );
      const plan = planWindows({
        now,
        windowMs: model.windowMs,
        delayMs: model.delayMs,
        maxCatchUp: config.scheduler.maxCatchUp,
        checkpoint,
        start: model.start?.getTime(),
        backfill: this.options.backfill,
      });
      bounds.set(target, plan.from);
      if (plan.skipped > 0) {
        const range = { from: new Date(plan.skippedFrom as number), to: new Date(plan.from) };
        log.warn(
          'windows.skipped',
          skippedMessage(model, config.scheduler.maxCatchUp, plan.skipped, range, checkpoint !== undefined),
          {
            ...this.logFields(target),
            skipped: plan.skipped,
            'skipped.from': range.from.toISOString(),
            'skipped.to': range.to.toISOString(),
            'checkpoint.from': new Date(plan.from).toISOString(),
          },
        );
      }
      const states = await this.store.windowStates(target, plan.windows);
      for (const window of plan.windows)
        if (!isSettled(states.get(window.start.getTime()))) units.push({ target, entry, job, window });
    }
    // Which done windows received labels since the last pass (before the due windows are run, so
    // that a window done in this pass is not counted as "done with old labels").
    const relabel: RelabelPlan[] = [];
    for (const { target, entry, job } of targets) {
      if (job.labelledWindows) relabel.push(await this.planRelabel(model, target, entry, job, now));
    }
    // Oldest first across jobs; a stable sort keeps the configured job order within a window.
    units.sort((a, b) => a.window.start.getTime() - b.window.start.getTime());
    if (units.length > 0)
      log.info('pass.started', `${units.length} window runs due for model ${model.name}`, {
        model: model.name,
        namespace: model.namespace,
        due: units.length,
        'window.first': units[0]?.window.start.toISOString(),
        'window.last': units[units.length - 1]?.window.start.toISOString(),
      });
    for (const unit of units) {
      if (this.isStopping) break;
      const outcome = await this.processWindow(model, unit);
      summary.runs.push({
        job: unit.target.job,
        model: unit.target.model,
        namespace: unit.target.namespace,
        window: unit.window,
        outcome,
      });
      if (outcome === 'processed') summary.processed++;
      if (outcome === 'failed') summary.failed++;
      if (outcome === 'held') summary.held++;
      if (outcome === 'processed' || outcome === 'failed' || outcome === 'settled')
        await this.advance(model, unit.target, bounds.get(unit.target) as number, lastEnd);
    }
    for (const { target } of targets)
      await this.advance(model, target, bounds.get(target) as number, lastEnd);
    for (const plan of relabel) {
      let ok = plan.canCommit;
      for (const window of plan.windows) {
        if (this.isStopping) return summary;
        const outcome = await this.reprocessWindow(model, plan, window);
        summary.runs.push({
          job: plan.target.job,
          model: plan.target.model,
          namespace: plan.target.namespace,
          window,
          outcome,
        });
        if (outcome === 'reprocessed') summary.reprocessed++;
        else {
          summary.failed++;
          ok = false;
        }
      }
      // The cursor moves only when every window with new labels is done: a failure is retried.
      if (ok) await plan.commit();
    }
    // Whoever reads the results next (a report job, `mlmon report`, a dashboard) sees this pass.
    if (summary.processed + summary.reprocessed > 0)
      await refreshResults(this.options.client, model.namespace);
    return summary;
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
  private async planRelabel(
    model: ModelConfig,
    target: JobTarget,
    entry: ModelConfig['jobs'][number],
    job: WindowJob,
    now: number,
  ): Promise<RelabelPlan> {
    const probe = job.labelledWindows as NonNullable<WindowJob['labelledWindows']>;
    const cursor = await this.store.readLabelCursor(target);
    const since = cursor?.source.state.detail.since ?? null;
    const recentFrom = Math.max(Date.now() - LABEL_SETTLE_MS, since ?? -Infinity);
    const horizonStart = alignDown(now - model.performance.labelHorizonMs, model.windowMs);
    const found = await probe({
      client: this.options.client,
      model: target.model,
      namespace: target.namespace,
      windowMs: model.windowMs,
      horizonStart,
      since,
      recentFrom,
      modelConfig: model,
      log: this.options.log.child({ job: target.job, model: target.model.name }),
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
    const states = await this.store.windowStates(target, candidates);
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
      this.options.log.info(
        'labels.changed',
        `${changed.length} windows received labels; ${windows.length} done ones re-run`,
        {
          ...this.logFields(target),
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
      commit: () => this.store.writeLabelCursor(target, { since: recentFrom, recent }, cursor),
    };
  }

  /**
   * Runs a done window's job again (its labels changed). No window lock: the window stays done, the
   * job writes with deterministic ids, so a replica doing the same at the same time only repeats
   * identical writes; the label cursor (compare-and-swap) moves once.
   */
  private async reprocessWindow(
    model: ModelConfig,
    plan: RelabelPlan,
    window: TimeWindow,
  ): Promise<WindowOutcome> {
    const { log, metrics, client } = this.options;
    const fields = { ...this.logFields(plan.target, window), reason: 'labels' };
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

  private async advance(model: ModelConfig, target: JobTarget, from: number, lastEnd: number): Promise<void> {
    const checkpoint = await this.store.advanceCheckpoint(target, model.windowMs, { from, lastEnd });
    if (checkpoint !== undefined)
      this.options.metrics?.recordCheckpoint(
        { ...target, model: target.model.name, version: target.model.version },
        checkpoint,
      );
  }

  /** Locks, runs, marks done one window. Never throws for a job's failure. */
  private async processWindow(model: ModelConfig, unit: Unit): Promise<WindowOutcome> {
    const { log, metrics, config, client } = this.options;
    const fields = this.logFields(unit.target, unit.window);
    const counterLabels = {
      namespace: unit.target.namespace,
      model: unit.target.model.name,
      job: unit.target.job,
    };
    const acquired = await this.store.acquire(unit.target, unit.window);
    if (acquired.status === 'settled') return 'settled';
    if (acquired.status === 'held' || acquired.status === 'lost-race') {
      const holder = acquired.status === 'held' ? acquired.owner : undefined;
      log.info('window.held', `window held by ${holder ?? 'another replica'}; left to it`, {
        ...fields,
        holder,
        'lock.expires': acquired.status === 'held' ? acquired.expires.toISOString() : undefined,
      });
      return 'held';
    }
    if (acquired.status === 'gave-up') {
      log.error('window.failed', `window abandoned ${acquired.attempts} times; marked failed, not retried`, {
        ...fields,
        attempts: acquired.attempts,
      });
      metrics?.windowFailures.inc(counterLabels);
      return 'failed';
    }
    const { lock } = acquired;
    if (acquired.takeoverFrom) {
      metrics?.lockTakeovers.inc(counterLabels);
      log.warn('lock.takeover', `took over the expired lock of ${acquired.takeoverFrom}`, {
        ...fields,
        'previous.owner': acquired.takeoverFrom,
        attempt: acquired.attempt,
      });
    }
    log.info('window.started', `processing window (attempt ${acquired.attempt})`, {
      ...fields,
      attempt: acquired.attempt,
    });
    const controller = new AbortController();
    let finish: () => void = () => undefined;
    const running: RunningWindow = {
      lock,
      controller,
      released: false,
      done: new Promise<void>((resolve) => (finish = resolve)),
    };
    this.running.add(running);
    lock.startHeartbeat(
      config.scheduler.heartbeatMs,
      () => {
        log.warn(
          'lock.lost',
          'lock taken over by another replica while working; aborting the window',
          fields,
        );
        controller.abort(new LockLostError(unit.window));
      },
      (error) =>
        log.warn('lock.renew_failed', 'could not renew the lock; retrying at the next beat', {
          ...fields,
          error,
        }),
    );
    const started = Date.now();
    try {
      const result = await unit.job({
        client,
        model: unit.target.model,
        namespace: unit.target.namespace,
        window: { start: unit.window.start, end: unit.window.end },
        signal: controller.signal,
        options: unit.entry.options,
        modelConfig: model,
        log: log.child({ job: unit.target.job, model: unit.target.model.name }),
        metrics,
      });
      controller.signal.throwIfAborted();
      metrics?.observe(result.documents);
      if (model.hooks.length > 0) {
        const outcomes = await runHooks(
          model.hooks,
          {
            job: unit.target.job,
            model: unit.target.model,
            namespace: unit.target.namespace,
            window: { start: unit.window.start.toISOString(), end: unit.window.end.toISOString() },
          },
          result.documents,
          log,
        );
        for (const o of outcomes) metrics?.hookCalls.inc({ hook: o.hook, outcome: o.ok ? 'ok' : 'failed' });
      }
      const durationMs = Date.now() - started;
      if (!(await lock.complete({ documents: result.documents.length, durationMs }))) {
        log.warn(
          'lock.lost',
          'window finished after its lock was taken over; the new owner completes it',
          fields,
        );
        metrics?.windowFailures.inc(counterLabels);
        return 'lost';
      }
      metrics?.windowsProcessed.inc(counterLabels);
      log.info('window.processed', `window done: ${result.documents.length} result documents`, {
        ...fields,
        documents: result.documents.length,
        'event.duration_ms': durationMs,
      });
      return 'processed';
    } catch (error) {
      lock.stopHeartbeat();
      if (running.released) return 'released';
      metrics?.windowFailures.inc(counterLabels);
      if (lock.lost) return 'lost';
      const outcome = await lock.fail(error).catch(() => 'lost' as const);
      log.error(
        'window.failed',
        outcome === 'retry' ? 'window failed; it will be retried at the next pass' : 'window failed for good',
        { ...fields, error, attempt: acquired.attempt, retry: outcome === 'retry' },
      );
      return 'failed';
    } finally {
      lock.stopHeartbeat();
      this.running.delete(running);
      finish();
    }
  }

  /**
   * Processes every due window of every model and returns (the `--once` mode). Windows held by
   * other replicas are waited for — until their owner finishes them or their lock expires and
   * this replica takes them over — so that on return every window due at the call is settled.
   */
  async runDue(): Promise<PassSummary> {
    const now = Date.now();
    const total: PassSummary = { runs: [], processed: 0, reprocessed: 0, failed: 0, held: 0 };
    for (const model of this.schedules) {
      for (;;) {
        const pass = await this.track(this.runModelPass(model, now));
        total.runs.push(...pass.runs.filter((r) => r.outcome !== 'held'));
        total.processed += pass.processed;
        total.reprocessed += pass.reprocessed;
        total.failed += pass.failed;
        if (pass.held === 0 || this.isStopping) {
          total.held += pass.held;
          break;
        }
        // Someone else holds windows: check again a little before their locks could expire.
        await this.interruptibleSleep(Math.min(this.options.config.scheduler.heartbeatMs, 1000));
      }
    }
    return total;
  }

  private interruptibleSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopWaiters.add(done);
    });
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.passes.add(promise);
    promise.then(
      () => this.passes.delete(promise),
      () => this.passes.delete(promise),
    );
    return promise;
  }

  /** A cron tick (or the first pass at start): skipped while the model's previous pass still runs. */
  private async tick(model: ModelConfig): Promise<void> {
    const key = `${model.namespace}/${model.name}`;
    if (this.isStopping || this.busyModels.has(key)) return;
    this.busyModels.add(key);
    try {
      const pass = await this.track(this.runModelPass(model, Date.now()));
      if (pass.runs.length > 0)
        this.options.log.info('pass.finished', `pass over model ${model.name} finished`, {
          model: model.name,
          namespace: model.namespace,
          processed: pass.processed,
          failed: pass.failed,
          held: pass.held,
        });
    } catch (error) {
      // Elasticsearch unreachable and the like: log, and try again at the next tick.
      this.options.log.error('pass.failed', `pass over model ${model.name} failed; next tick retries`, {
        model: model.name,
        namespace: model.namespace,
        error,
      });
    } finally {
      this.busyModels.delete(key);
    }
  }

  /** Starts one cron task per model, and a first pass right away (catch-up after downtime). */
  start(): void {
    const { config, log } = this.options;
    for (const model of this.schedules) {
      const task = cron.schedule(model.cron, () => this.tick(model), {
        name: `mlmon:${model.namespace}:${model.name}`,
        timezone: config.scheduler.timezone,
        // Our own busy flag already prevents overlaps; node-cron's warnings about them are noise.
        suppressMissedWarning: true,
      });
      this.tasks.push(task);
      log.info('schedule.started', `model ${model.name}: cron "${model.cron}"`, {
        model: model.name,
        namespace: model.namespace,
        cron: model.cron,
        'window.size_ms': model.windowMs,
        'window.delay_ms': model.delayMs,
        jobs: model.jobs.map((j) => j.name),
      });
      void this.tick(model);
    }
  }

  /**
   * Stops taking new windows, lets the windows in progress finish within
   * `scheduler.shutdownGrace`, then aborts and releases the rest (so another replica can take them
   * at once instead of waiting for the lock to expire). Idempotent.
   */
  shutdown(reason = 'shutdown'): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      const { log, config } = this.options;
      log.info('scheduler.stopping', `stopping (${reason}); ${this.running.size} windows in progress`, {
        reason,
        'windows.in_progress': this.running.size,
      });
      for (const task of this.tasks) await task.destroy();
      for (const wake of [...this.stopWaiters]) wake();
      const inProgress = [...this.running];
      if (inProgress.length > 0) {
        const finished = Promise.all(inProgress.map((r) => r.done));
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'grace-over'>((resolve) => {
          timer = setTimeout(() => resolve('grace-over'), config.scheduler.shutdownGraceMs);
        });
        const first = await Promise.race([finished.then(() => 'finished' as const), graceOver]);
        clearTimeout(timer);
        if (first === 'grace-over') {
          for (const r of [...this.running]) {
            r.released = true;
            r.controller.abort(new ShutdownError());
            const released = await r.lock.release('scheduler shutdown').catch(() => false);
            log.warn('lock.released', 'window not finished within the shutdown grace period; released it', {
              ...this.logFields(r.lock.target, r.lock.window),
              released,
            });
          }
          await Promise.all(inProgress.map((r) => r.done));
        }
      }
      await Promise.allSettled([...this.passes]);
      log.info('scheduler.stopped', 'scheduler stopped', { reason });
    })();
    return this.stopping;
  }
}
