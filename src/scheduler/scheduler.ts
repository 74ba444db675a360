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
import type { ModelRef, WindowJob } from './jobs/contract.js';
import { type JobRegistry, unknownJobs } from './jobs/registry.js';
import type { StructuredLogger } from './log.js';
import type { SchedulerMetrics } from './metrics.js';
import { type JobTarget, isSettled, StateStore } from './state.js';
import { planRelabel, reprocessWindow, type RelabelPlan } from './relabel.js';
import {
  processWindow,
  type RunningWindow,
  type Unit,
  type WindowOutcome,
  type WindowRunDeps,
  windowLogFields,
} from './window-run.js';
import type { TimeWindow } from '../schema/window.js';
import { latestDueEnd, planWindows } from './windows.js';

// Moved to window-run.ts and relabel.ts; exported from here as before.
export { LockLostError, type WindowOutcome } from './window-run.js';
export { LABEL_SETTLE_MS } from './relabel.js';
export { unknownJobs } from './jobs/registry.js';
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

/** Raised inside a job's signal when the scheduler shuts down and the grace period is over. */
export class ShutdownError extends Error {
  constructor() {
    super('scheduler shutting down');
    this.name = 'ShutdownError';
  }
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

export class Scheduler {
  private readonly store: StateStore;
  /** What runs on a cron: every model, and every report job (as a pass over its periods). */
  private readonly schedules: ModelConfig[];
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<RunningWindow>();
  /** What a window run and a relabel need of this scheduler (window-run.ts, relabel.ts). */
  private readonly deps: WindowRunDeps;
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
    this.deps = {
      client: options.client,
      log: options.log,
      metrics: options.metrics,
      heartbeatMs: config.scheduler.heartbeatMs,
      store: this.store,
      running: this.running,
    };
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
            ...windowLogFields(target),
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
      if (job.labelledWindows) relabel.push(await planRelabel(this.deps, model, target, entry, job, now));
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
      const outcome = await processWindow(this.deps, model, unit);
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
    if (!(await this.runRelabels(model, relabel, summary))) return summary;
    // Whoever reads the results next (a report job, `mlmon report`, a dashboard) sees this pass.
    if (summary.processed + summary.reprocessed > 0)
      await refreshResults(this.options.client, model.namespace);
    return summary;
  }

  /**
   * The done windows whose labels changed, run again; each job's label cursor moves when all of its
   * windows succeeded. False when the scheduler began to stop in between.
   */
  private async runRelabels(
    model: ModelConfig,
    relabel: RelabelPlan[],
    summary: PassSummary,
  ): Promise<boolean> {
    for (const plan of relabel) {
      let ok = plan.canCommit;
      for (const window of plan.windows) {
        if (this.isStopping) return false;
        const outcome = await reprocessWindow(this.deps, model, plan, window);
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
    return true;
  }

  private async advance(model: ModelConfig, target: JobTarget, from: number, lastEnd: number): Promise<void> {
    const checkpoint = await this.store.advanceCheckpoint(target, model.windowMs, { from, lastEnd });
    if (checkpoint !== undefined)
      this.options.metrics?.recordCheckpoint(
        { ...target, model: target.model.name, version: target.model.version },
        checkpoint,
      );
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
              ...windowLogFields(r.lock.target, r.lock.window),
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
