/**
 * One due window, as the scheduler runs it: lock it (or leave it to the replica that holds it),
 * run its job under a heartbeat, then run the hooks and mark it done under the same lock. Moved out
 * of scheduler.ts, which plans the passes and owns the lifecycle (start, shutdown).
 */
import type { Client } from '@elastic/elasticsearch';
import type { ModelConfig } from '../schema/config.js';
import type { TimeWindow } from '../schema/window.js';
import { runHooks } from './hooks.js';
import type { WindowJob } from './jobs/contract.js';
import type { StructuredLogger } from './log.js';
import type { SchedulerMetrics } from './metrics.js';
import type { HeldLock, JobTarget, StateStore } from './state.js';

/** What a window run ends as (`WindowRun.outcome` in a pass summary). */
export type WindowOutcome = 'processed' | 'reprocessed' | 'settled' | 'held' | 'failed' | 'lost' | 'released';

/** Raised inside a job's signal when its lock was taken over by another replica. */
export class LockLostError extends Error {
  constructor(window: TimeWindow) {
    super(`lock of window ${window.start.toISOString()} was taken over by another replica`);
    this.name = 'LockLostError';
  }
}

export interface Unit {
  target: JobTarget;
  entry: ModelConfig['jobs'][number];
  job: WindowJob;
  window: TimeWindow;
}

export interface RunningWindow {
  lock: HeldLock;
  controller: AbortController;
  released: boolean;
  done: Promise<void>;
}

/** What a window run needs of its scheduler. */
export interface WindowRunDeps {
  client: Client;
  log: StructuredLogger;
  metrics?: SchedulerMetrics;
  heartbeatMs: number;
  store: StateStore;
  /** The windows in progress: the scheduler's shutdown releases or waits for them. */
  running: Set<RunningWindow>;
}

/** The fields every log line about a (job, version) and window carries. */
export function windowLogFields(target: JobTarget, window?: TimeWindow): Record<string, unknown> {
  return {
    job: target.job,
    model: target.model.name,
    version: target.model.version ?? '*',
    namespace: target.namespace,
    ...(window ? { 'window.start': window.start.toISOString(), 'window.end': window.end.toISOString() } : {}),
  };
}

/** Locks, runs, marks done one window. Never throws for a job's failure. */
export async function processWindow(
  deps: WindowRunDeps,
  model: ModelConfig,
  unit: Unit,
): Promise<WindowOutcome> {
  const { log, metrics, heartbeatMs, client, running: runningWindows } = deps;
  const fields = windowLogFields(unit.target, unit.window);
  const counterLabels = {
    namespace: unit.target.namespace,
    model: unit.target.model.name,
    job: unit.target.job,
  };
  const acquired = await acquireWindow(deps, unit, fields, counterLabels);
  if (typeof acquired === 'string') return acquired;
  const { lock } = acquired;
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
  runningWindows.add(running);
  lock.startHeartbeat(
    heartbeatMs,
    () => {
      log.warn('lock.lost', 'lock taken over by another replica while working; aborting the window', fields);
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
    // Hooks fire once the result is committed, by the replica that committed it: a replica whose
    // lock was taken over returned above without firing, so a takeover never fires them twice.
    // A failed hook is logged and counted, never a reason to run the window again.
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
    runningWindows.delete(running);
    finish();
  }
}

/** The window's lock (and the attempt it is), or why the window is not this replica's to run. */
async function acquireWindow(
  deps: WindowRunDeps,
  unit: Unit,
  fields: Record<string, unknown>,
  counterLabels: Record<string, string>,
): Promise<{ lock: HeldLock; attempt: number } | WindowOutcome> {
  const { log, metrics } = deps;
  const acquired = await deps.store.acquire(unit.target, unit.window);
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
  if (acquired.takeoverFrom) {
    metrics?.lockTakeovers.inc(counterLabels);
    log.warn('lock.takeover', `took over the expired lock of ${acquired.takeoverFrom}`, {
      ...fields,
      'previous.owner': acquired.takeoverFrom,
      attempt: acquired.attempt,
    });
  }
  return { lock: acquired.lock, attempt: acquired.attempt };
}
