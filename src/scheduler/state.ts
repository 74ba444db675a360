/**
 * Locks and checkpoints in the `mlmon-state` index (a regular index, so documents can be created
 * exclusively and replaced with compare-and-swap).
 *
 * One document per (job, model, version, namespace, window), whose `state.kind` moves through:
 *
 *   (absent) --create--> lock --complete--> window          (done; never processed again)
 *                         |  \--fail (attempts left)--> lock with expires = now (free to retry)
 *                         |  \--fail (no attempts left)--> failed   (settled, the checkpoint moves on)
 *                         |  \--fail, transient--> lock with expires = now, the attempt handed back
 *                         |        (until the window is older than `transientRetryMs`: then it counts)
 *                         \--expired, another owner CAS--> lock (takeover)
 *
 * Acquiring is `op_type: create` (only one replica can create the id); taking over an expired lock,
 * renewing, completing and releasing are `if_seq_no`/`if_primary_term` writes, so a replica whose
 * lock was taken over can no longer write to it, and learns so at its next heartbeat. The
 * document keeps the history of owners, which is how an operator (and the tests) see who did what.
 *
 * One more document per (job, model, version, namespace), `state.kind: checkpoint`, holds the end of
 * the latest window up to which everything is settled: where the next pass starts, and the lag.
 *
 * Expiry compares wall clocks of different replicas: keep them NTP-synced and the lock TTL well
 * above any skew.
 *
 * Length: Over 450 lines on purpose: StateStore and HeldLock are one protocol (create exclusively,
 * renew, complete, fail under the same seq_no) and are read together.
 */
import { errors, type Client } from '@elastic/elasticsearch';
import type { ModelRef } from './jobs/contract.js';
import { isTransientFailure } from '../elastic/search.js';
import { STATE_INDEX } from '../schema/streams.js';
import type { TimeWindow } from '../schema/window.js';

/** What a lock or checkpoint is about. */
export interface JobTarget {
  job: string;
  model: ModelRef;
  namespace: string;
}

export type StateKind = 'lock' | 'window' | 'failed' | 'checkpoint' | 'labels';

export interface OwnerEntry {
  owner: string;
  at: string;
  /** `acquired` (created the lock), `takeover` (the previous owner's lock expired), `retry` (released before). */
  how: 'acquired' | 'takeover' | 'retry';
}

export interface WindowStateDetail {
  model: ModelRef;
  namespace: string;
  attempts: number;
  /** Times the lock was taken over after its owner stopped renewing it. */
  takeovers: number;
  owners: OwnerEntry[];
  acquiredAt: string;
  renewedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  documents?: number;
  lastError?: string;
  /** the last failure was transient (unreachable, 5xx, 429, partial results): retried, attempt handed back */
  transient?: boolean;
  released?: { by: string; at: string; reason: string };
}

export interface CheckpointDetail {
  model: ModelRef;
  namespace: string;
  updatedAt: string;
  /** Windows skipped in total because they were older than `maxCatchUp`. */
  skipped: number;
}

/** What the label cursor remembers of a window whose labels arrived in the settling margin. */
export interface RecentLabels {
  start: number;
  count: number;
  latest: number | null;
}

/**
 * The label cursor of a (job, model, version, namespace): labels joined before `since` have been
 * taken into account; `recent` holds, per window, the labels joined at or after `since` as seen
 * when the cursor was written (see Scheduler.relabelledWindows).
 */
export interface LabelCursorDetail {
  model: ModelRef;
  namespace: string;
  updatedAt: string;
  since: number;
  recent: RecentLabels[];
}

export interface StateDocument<D = WindowStateDetail | CheckpointDetail | LabelCursorDetail> {
  state: {
    kind: StateKind;
    job: string;
    owner: string;
    expires?: string;
    checkpoint?: string;
    window?: { start: string; end: string };
    detail: D;
  };
}

export type WindowState = StateDocument<WindowStateDetail>;
export type CheckpointState = StateDocument<CheckpointDetail>;
export type LabelCursorState = StateDocument<LabelCursorDetail>;

function idPart(value: string): string {
  return encodeURIComponent(value);
}

export function windowStateId(target: JobTarget, windowStart: Date): string {
  return [
    'window',
    target.job,
    target.model.name,
    target.model.version ?? '*',
    target.namespace,
    windowStart.toISOString(),
  ]
    .map(idPart)
    .join('|');
}

export function checkpointId(target: JobTarget): string {
  return ['checkpoint', target.job, target.model.name, target.model.version ?? '*', target.namespace]
    .map(idPart)
    .join('|');
}

export function labelCursorId(target: JobTarget): string {
  return ['labels', target.job, target.model.name, target.model.version ?? '*', target.namespace]
    .map(idPart)
    .join('|');
}

function isConflict(error: unknown): boolean {
  return error instanceof errors.ResponseError && error.statusCode === 409;
}

function isNotFound(error: unknown): boolean {
  return error instanceof errors.ResponseError && error.statusCode === 404;
}

export function isSettled(doc: WindowState | undefined): boolean {
  return doc?.state.kind === 'window' || doc?.state.kind === 'failed';
}

export type AcquireOutcome =
  | { status: 'acquired'; lock: HeldLock; takeoverFrom?: string; attempt: number }
  /** Done (or failed for good) already, by us or another replica. */
  | { status: 'settled'; kind: StateKind; owner: string }
  /** Another replica holds a live lock. */
  | { status: 'held'; owner: string; expires: Date }
  /** The window ran out of attempts now (a replica died on it `maxAttempts` times). */
  | { status: 'gave-up'; attempts: number }
  /** Another replica won the race for the same document just now. */
  | { status: 'lost-race' };

interface Versioned<T> {
  source: T;
  seqNo: number;
  primaryTerm: number;
}

/** How long after its end a window is retried for transient failures without using attempts: 7 days. */
export const TRANSIENT_RETRY_MS = 7 * 86_400_000;

export class StateStore {
  constructor(
    readonly client: Client,
    readonly owner: string,
    readonly lockTtlMs: number,
    readonly options: {
      maxAttempts: number;
      /**
       * A transient failure (elastic/search.ts `isTransientFailure`: unreachable, 5xx, 429,
       * partial results) does not use up an attempt until the window ended this long ago; then it
       * counts like any other. Default {@link TRANSIENT_RETRY_MS}.
       */
      transientRetryMs?: number;
      now?: () => number;
    } = { maxAttempts: 3 },
  ) {}

  now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private async getVersioned<T>(id: string): Promise<Versioned<T> | undefined> {
    try {
      const found = await this.client.get<T>({ index: STATE_INDEX, id });
      if (!found.found || !found._source) return undefined;
      return {
        source: found._source,
        seqNo: found._seq_no as number,
        primaryTerm: found._primary_term as number,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Realtime (no refresh needed) states of the given windows, by window start in ms. */
  async windowStates(target: JobTarget, windows: TimeWindow[]): Promise<Map<number, WindowState>> {
    const out = new Map<number, WindowState>();
    if (windows.length === 0) return out;
    const response = await this.client.mget<WindowState>({
      index: STATE_INDEX,
      ids: windows.map((w) => windowStateId(target, w.start)),
    });
    response.docs.forEach((doc, i) => {
      if ('found' in doc && doc.found && doc._source)
        out.set((windows[i] as TimeWindow).start.getTime(), doc._source);
    });
    return out;
  }

  async windowState(target: JobTarget, window: TimeWindow): Promise<WindowState | undefined> {
    return (await this.getVersioned<WindowState>(windowStateId(target, window.start)))?.source;
  }

  /** Tries to become the owner of the window's lock. Never waits. */
  async acquire(target: JobTarget, window: TimeWindow): Promise<AcquireOutcome> {
    const id = windowStateId(target, window.start);
    const nowIso = new Date(this.now()).toISOString();
    const fresh: WindowState = {
      state: {
        kind: 'lock',
        job: target.job,
        owner: this.owner,
        expires: new Date(this.now() + this.lockTtlMs).toISOString(),
        window: { start: window.start.toISOString(), end: window.end.toISOString() },
        detail: {
          model: target.model,
          namespace: target.namespace,
          attempts: 1,
          takeovers: 0,
          owners: [{ owner: this.owner, at: nowIso, how: 'acquired' }],
          acquiredAt: nowIso,
        },
      },
    };
    try {
      const created = await this.client.create({ index: STATE_INDEX, id, document: fresh });
      return {
        status: 'acquired',
        attempt: 1,
        lock: new HeldLock(
          this,
          id,
          target,
          window,
          fresh,
          created._seq_no ?? -1,
          created._primary_term ?? -1,
        ),
      };
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    const existing = await this.getVersioned<WindowState>(id);
    if (!existing) return { status: 'lost-race' };
    const state = existing.source.state;
    if (state.kind !== 'lock') return { status: 'settled', kind: state.kind, owner: state.owner };
    const expires = Date.parse(state.expires ?? '');
    if (expires > this.now()) return { status: 'held', owner: state.owner, expires: new Date(expires) };

    const released = state.detail.released !== undefined;
    const previous = state.owner;
    const attemptsSoFar = state.detail.attempts;
    if (attemptsSoFar >= this.options.maxAttempts) {
      // Replicas died on (or gave up on) this window every time: settle it as failed so the
      // checkpoint can move on, instead of crashing replica after replica forever.
      const failed: WindowState = {
        state: {
          ...state,
          kind: 'failed',
          owner: this.owner,
          expires: undefined,
          detail: {
            ...state.detail,
            finishedAt: nowIso,
            lastError:
              state.detail.lastError ??
              `abandoned by its owner ${attemptsSoFar} times (process died or lost its lock)`,
          },
        },
      };
      const ok = await this.compareAndSwap(id, failed, existing);
      return ok ? { status: 'gave-up', attempts: attemptsSoFar } : { status: 'lost-race' };
    }
    const next: WindowState = {
      state: {
        ...state,
        owner: this.owner,
        expires: new Date(this.now() + this.lockTtlMs).toISOString(),
        detail: {
          ...state.detail,
          attempts: attemptsSoFar + 1,
          takeovers: state.detail.takeovers + (released ? 0 : 1),
          owners: [
            ...state.detail.owners,
            { owner: this.owner, at: nowIso, how: released ? 'retry' : 'takeover' },
          ],
          acquiredAt: nowIso,
          renewedAt: undefined,
          released: undefined,
        },
      },
    };
    const written = await this.compareAndSwapVersioned(id, next, existing);
    if (!written) return { status: 'lost-race' };
    return {
      status: 'acquired',
      attempt: attemptsSoFar + 1,
      takeoverFrom: released ? undefined : previous,
      lock: new HeldLock(this, id, target, window, next, written.seqNo, written.primaryTerm),
    };
  }

  private async compareAndSwap(
    id: string,
    doc: StateDocument,
    expected: Versioned<unknown>,
  ): Promise<boolean> {
    return (await this.compareAndSwapVersioned(id, doc, expected)) !== undefined;
  }

  /** Writes `doc` only if the stored document is still `expected`; the new version, or undefined. */
  async compareAndSwapVersioned(
    id: string,
    doc: StateDocument,
    expected: { seqNo: number; primaryTerm: number },
  ): Promise<{ seqNo: number; primaryTerm: number } | undefined> {
    try {
      const written = await this.client.index({
        index: STATE_INDEX,
        id,
        document: doc,
        if_seq_no: expected.seqNo,
        if_primary_term: expected.primaryTerm,
      });
      return { seqNo: written._seq_no ?? -1, primaryTerm: written._primary_term ?? -1 };
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  async readLabelCursor(target: JobTarget): Promise<Versioned<LabelCursorState> | undefined> {
    return this.getVersioned<LabelCursorState>(labelCursorId(target));
  }

  /**
   * Stores the label cursor if nobody moved it since `previous` was read (compare-and-swap); false
   * when another replica did (its cursor stays: the work of both is idempotent).
   */
  async writeLabelCursor(
    target: JobTarget,
    detail: Omit<LabelCursorDetail, 'model' | 'namespace' | 'updatedAt'>,
    previous: Versioned<LabelCursorState> | undefined,
  ): Promise<boolean> {
    const doc: LabelCursorState = {
      state: {
        kind: 'labels',
        job: target.job,
        owner: this.owner,
        checkpoint: new Date(detail.since).toISOString(),
        detail: {
          model: target.model,
          namespace: target.namespace,
          updatedAt: new Date(this.now()).toISOString(),
          ...detail,
        },
      },
    };
    const id = labelCursorId(target);
    if (previous) return this.compareAndSwap(id, doc, previous);
    try {
      await this.client.create({ index: STATE_INDEX, id, document: doc });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async readCheckpoint(target: JobTarget): Promise<Versioned<CheckpointState> | undefined> {
    return this.getVersioned<CheckpointState>(checkpointId(target));
  }

  /**
   * Moves the checkpoint forward over the settled windows that follow it (and over `skipTo`, the
   * start of the oldest window still within `maxCatchUp`). Only ever forward; concurrent replicas
   * retry on conflict. Returns the checkpoint (ms) after the call, or undefined if there is none.
   */
  async advanceCheckpoint(
    target: JobTarget,
    windowMs: number,
    bounds: { from: number; lastEnd: number },
  ): Promise<number | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.readCheckpoint(target);
      const currentMs = current?.source.state.checkpoint
        ? Date.parse(current.source.state.checkpoint)
        : undefined;
      const base = Math.max(currentMs ?? bounds.from, bounds.from);
      const skippedNow = currentMs !== undefined && base > currentMs ? (base - currentMs) / windowMs : 0;
      const windows: TimeWindow[] = [];
      for (let s = base; s + windowMs <= bounds.lastEnd; s += windowMs)
        windows.push({ start: new Date(s), end: new Date(s + windowMs) });
      const states = await this.windowStates(target, windows);
      let settled = 0;
      for (const w of windows) {
        if (!isSettled(states.get(w.start.getTime()))) break;
        settled++;
      }
      const next = base + settled * windowMs;
      const moves = currentMs === undefined ? settled > 0 : next > currentMs;
      if (!moves) return currentMs;
      const doc: CheckpointState = {
        state: {
          kind: 'checkpoint',
          job: target.job,
          owner: this.owner,
          checkpoint: new Date(next).toISOString(),
          detail: {
            model: target.model,
            namespace: target.namespace,
            updatedAt: new Date(this.now()).toISOString(),
            skipped: (current?.source.state.detail.skipped ?? 0) + skippedNow,
          },
        },
      };
      const id = checkpointId(target);
      if (!current) {
        try {
          await this.client.create({ index: STATE_INDEX, id, document: doc });
          return next;
        } catch (error) {
          if (!isConflict(error)) throw error;
          continue;
        }
      }
      if (await this.compareAndSwap(id, doc, current)) return next;
    }
    // Five conflicts in a row: other replicas are moving it; report what is stored now.
    const stored = (await this.readCheckpoint(target))?.source.state.checkpoint;
    return stored ? Date.parse(stored) : undefined;
  }
}

/**
 * A lock this replica holds. Every write is compare-and-swap against the version we last wrote,
 * and writes are serialized (a heartbeat never races the completion).
 */
export class HeldLock {
  private queue: Promise<unknown> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private lostFlag = false;
  private finished = false;

  constructor(
    private readonly store: StateStore,
    readonly id: string,
    readonly target: JobTarget,
    readonly window: TimeWindow,
    private doc: WindowState,
    private seqNo: number,
    private primaryTerm: number,
  ) {}

  get lost(): boolean {
    return this.lostFlag;
  }

  get state(): WindowState {
    return this.doc;
  }

  private serialize<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.queue.then(operation, operation);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(doc: WindowState): Promise<boolean> {
    if (this.lostFlag) return false;
    const written = await this.store.compareAndSwapVersioned(this.id, doc, {
      seqNo: this.seqNo,
      primaryTerm: this.primaryTerm,
    });
    if (!written) {
      this.lostFlag = true;
      return false;
    }
    this.doc = doc;
    this.seqNo = written.seqNo;
    this.primaryTerm = written.primaryTerm;
    return true;
  }

  /** Pushes the expiry forward. False when another replica has taken the lock. */
  renew(): Promise<boolean> {
    return this.serialize(async () => {
      if (this.finished) return !this.lostFlag;
      const now = this.store.now();
      return this.write({
        state: {
          ...this.doc.state,
          expires: new Date(now + this.store.lockTtlMs).toISOString(),
          detail: { ...this.doc.state.detail, renewedAt: new Date(now).toISOString() },
        },
      });
    });
  }

  /**
   * Renews every `intervalMs` until stopped; calls `onLost` once if the lock was taken over.
   * A failed renewal (Elasticsearch briefly unreachable) is reported and retried at the next beat.
   */
  startHeartbeat(intervalMs: number, onLost: () => void, onError: (error: unknown) => void): void {
    this.heartbeat = setInterval(() => {
      this.renew().then(
        (ok) => {
          if (!ok && !this.finished) {
            this.stopHeartbeat();
            onLost();
          }
        },
        (error: unknown) => onError(error),
      );
    }, intervalMs);
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Marks the window done. False when the lock had been lost (then another replica owns the window). */
  complete(outcome: { documents: number; durationMs: number }): Promise<boolean> {
    this.stopHeartbeat();
    return this.serialize(async () => {
      const ok = await this.write({
        state: {
          ...this.doc.state,
          kind: 'window',
          expires: undefined,
          checkpoint: this.window.end.toISOString(),
          detail: {
            ...this.doc.state.detail,
            finishedAt: new Date(this.store.now()).toISOString(),
            durationMs: outcome.durationMs,
            documents: outcome.documents,
          },
        },
      });
      this.finished = true;
      return ok;
    });
  }

  /**
   * The job failed: free the window for a retry (by any replica, at its next pass), or settle it
   * as failed when this was the last attempt.
   */
  fail(error: unknown): Promise<'retry' | 'failed' | 'lost'> {
    this.stopHeartbeat();
    return this.serialize(async () => {
      const message = error instanceof Error ? error.message : String(error);
      const now = new Date(this.store.now()).toISOString();
      // An outage is not a verdict on the window: a transient failure hands its attempt back (as a
      // release does) until the window is older than the stated limit.
      const retryFor = this.store.options.transientRetryMs ?? TRANSIENT_RETRY_MS;
      const transient = isTransientFailure(error) && this.store.now() - this.window.end.getTime() < retryFor;
      const attempts = this.doc.state.detail.attempts - (transient ? 1 : 0);
      const last = !transient && attempts >= this.store.options.maxAttempts;
      const ok = await this.write({
        state: {
          ...this.doc.state,
          kind: last ? 'failed' : 'lock',
          expires: last ? undefined : now,
          detail: {
            ...this.doc.state.detail,
            attempts,
            lastError: message.slice(0, 2000),
            transient: transient || undefined,
            finishedAt: last ? now : undefined,
            released: last ? undefined : { by: this.store.owner, at: now, reason: 'job failed' },
          },
        },
      });
      this.finished = true;
      if (!ok) return 'lost';
      return last ? 'failed' : 'retry';
    });
  }

  /** Gives the window back at once (shutdown), so another replica need not wait for the expiry. */
  release(reason: string): Promise<boolean> {
    this.stopHeartbeat();
    return this.serialize(async () => {
      const now = new Date(this.store.now()).toISOString();
      const ok = await this.write({
        state: {
          ...this.doc.state,
          expires: now,
          detail: {
            ...this.doc.state.detail,
            // A release hands the attempt back: shutting down is not the window's fault.
            attempts: Math.max(0, this.doc.state.detail.attempts - 1),
            released: { by: this.store.owner, at: now, reason },
          },
        },
      });
      this.finished = true;
      return ok;
    });
  }
}
