/**
 * The shipper: bounded memory buffer, our own bulk writer, per-item retry with backoff and jitter,
 * disk spool, dead letters, and the counters. Replaces winston-elasticsearch 0.19's BulkWriter, which
 * re-queues a whole batch after a partial failure, retries non-retryable errors up to its retry
 * limit, and silently drops new messages when its buffer is full.
 *
 * Life of an item (one document with its `_id` and target data stream):
 *
 *   enqueue ─▶ ready ─▶ in flight ─▶ 200/201/409 ─▶ indexed (409 = already there: exactly once)
 *                ▲  │          ├──▶ 429/5xx, unreachable ─▶ delayed (backoff) ─▶ ready
 *                │  │          │    (a whole request failed: marked as a re-send, looked up first)
 *                │  │          ├──▶ request refused (413) ─▶ ready, next requests halved (batch-limit.ts)
 *                │  │          └──▶ an item's 4xx, or refused alone ─▶ dead-letter item ─▶ ready ─▶ … ─▶ deadLettered
 *                │  └─ buffer full / Elasticsearch unreachable ─▶ spool (disk) ─▶ dropped beyond cap
 *                └───────────── replay from spool when Elasticsearch answers again
 *
 * Everything runs off the caller's path: `enqueue` appends to an array and, at most, schedules a
 * flush cycle with setImmediate. The only exception is a caller that logs faster than the event loop
 * turns (a synchronous loop of many thousands of events): past twice the buffer size, `enqueue` writes
 * the overflow to the spool synchronously rather than drop it or grow without bound.
 *
 * Where the parts live: this file is the loop (when to send, probe, flush, close; what a failed
 * request means). Every move of a document and its count is in ledger.ts, over the memory
 * (queue.ts, which owns the byte counts) and the spool (spool.ts); one bulk request and its
 * verdicts in bulk-round-trip.ts (over bulk-item.ts and resend-check.ts); how large a request may
 * be after one was refused in batch-limit.ts; outage.ts, ack.ts; options and counters in
 * shipper-options.ts.
 */
import { buildDeadLetterDocument, type DeadLetterReason } from '../schema/deadletter.js';
import { BatchLimit } from './batch-limit.js';
import { classifyRequestFailure } from './bulk-item.js';
import { bulkRoundTrip } from './bulk-round-trip.js';
import { OutageState } from './outage.js';
import { Kind, Ledger, type Item } from './ledger.js';
import type { Batch } from './queue.js';
import type { CloseResult, Counters, ShipperOptions } from './shipper-options.js';
import type { Ack } from './ack.js';
import { registerExitSpill, unregisterExitSpill, type ExitSpiller } from './exit-hook.js';

// What the logger core, the collector and the tests import from here (kept where it was).
export { backoff } from './outage.js';
export { stampIngested } from './bulk-round-trip.js';
export { Kind, MAX_ITEM_ATTEMPTS, type Item } from './ledger.js';
export { SHIPPER_DEFAULTS, type CloseResult, type Counters, type ShipperOptions } from './shipper-options.js';

/** The longest delay setTimeout honours; longer ones (Infinity included) fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Shipper implements ExitSpiller {
  /** Where every document is, and the counters. */
  private readonly ledger: Ledger;
  /** The ledger's memory and spool, at hand. */
  private readonly queue: Ledger['queue'];
  private readonly spool: Ledger['spool'];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Whether the cluster answers (healthy / outage / recovering); see outage.ts. */
  private readonly outage: OutageState;
  /** How large a request may be: smaller than configured after one was refused as a whole. */
  private readonly limit: BatchLimit;
  private probing = false;
  private closing = false;
  private closed = false;
  private waiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(private readonly options: ShipperOptions) {
    this.ledger = new Ledger(options);
    this.queue = this.ledger.queue;
    this.spool = this.ledger.spool;
    this.outage = new OutageState(options.retryBaseMs, options.retryMaxMs);
    this.limit = new BatchLimit(options.batchMaxItems, options.batchMaxBytes);
    registerExitSpill(this);
    this.schedule();
  }

  /**
   * Called at the start of every flush cycle, flush and close, and on process exit: the logger
   * builds the documents it deferred off the caller's path.
   */
  beforeCycle: (() => void) | undefined;

  /** The counters (the logger core counts `accepted` and some `dropped` itself, on this object). */
  get counters(): Counters {
    return this.ledger.counters;
  }

  /**
   * Queues one document. Cheap, never throws. `counted` is false when the caller already counted it
   * as accepted (the logger counts on the caller's path and builds the document later).
   */
  enqueue(
    index: string,
    id: string,
    doc: string,
    kind: Kind = Kind.Document,
    counted = false,
    ack?: Ack,
  ): void {
    if (!counted) this.counters.accepted++;
    ack?.add();
    if (this.closed) {
      this.counters.dropped++;
      ack?.settle('dropped');
      this.ledger.warnOnce('closed', 'mlmon: a document was logged after close(); it was dropped');
      return;
    }
    const queue = this.queue;
    this.ledger.push(index, id, doc, kind, ack);
    const bytes = queue.bytes;
    if (bytes > 2 * this.options.bufferMaxBytes) this.ledger.spillOverflow(this.options.bufferMaxBytes);
    else if (
      queue.readyBytes >= this.options.batchMaxBytes ||
      queue.readyCount >= this.options.batchMaxItems ||
      bytes > this.options.bufferMaxBytes
    )
      this.kick();
  }

  /** Queues a dead letter for an event that never became a document. */
  enqueueDeadLetter(
    id: string,
    target: string,
    original: string,
    reason: DeadLetterReason,
    model?: object,
    counted = false,
    ack?: Ack,
  ): void {
    const doc = buildDeadLetterDocument(original, reason, target, {
      model: model as Record<string, unknown> | undefined,
      predictionId: id,
      dataStream: this.ledger.deadLetterStream,
    });
    this.enqueue(this.options.deadLetterIndex, id, JSON.stringify(doc), Kind.DeadLetter, counted, ack);
  }

  /** Bytes of documents in memory (for tests and the benchmark). */
  get bufferedBytes(): number {
    return this.queue.bytes;
  }

  get pendingInMemory(): number {
    return this.queue.count;
  }

  /** Bytes in spool files this shipper knows about (for back-pressure in `mlmon collect`). */
  get spoolBytes(): number {
    return this.spool?.bytes ?? 0;
  }

  get spoolHasData(): boolean {
    return this.spool?.hasData ?? false;
  }

  get unreachable(): boolean {
    return this.outage.active;
  }

  /**
   * Arms the cycle timer: every `flushIntervalMs`, or sooner when a retry's backoff or an outage's
   * wait ends first (otherwise a retry would wait for the next periodic cycle, however long).
   */
  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    let delay = this.options.flushIntervalMs;
    const due = this.queue.nextDue();
    if (due !== undefined && due - now < delay) delay = due - now;
    const wait = this.outage.waitLeft(now);
    if (wait !== undefined && wait < delay) delay = wait;
    this.timer = setTimeout(() => this.cycle(), Math.max(10, delay));
    this.timer.unref();
  }

  /** Runs a flush cycle soon, off the caller's stack. */
  kick(): void {
    if (this.immediate || this.closed) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.cycle();
    });
  }

  private cycle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.beforeCycle?.();
      this.step(Date.now());
    } catch (error) {
      // A bug here must not take the service down; report it and carry on.
      this.ledger.warnOnce(
        'internal',
        `mlmon: internal error in the flush cycle: ${(error as Error).stack ?? error}`,
      );
    }
    this.settle();
    this.schedule();
  }

  private step(now: number): void {
    this.spool?.tick(now);
    const queue = this.queue;
    // Retries whose time has come go to the front.
    queue.promoteDue(now);
    const phase = this.outage.phase(now);
    if (phase === 'outage') {
      // Unreachable: keep nothing in memory that the disk can hold, so a crash now loses nothing.
      // Without a spool, keep what the buffer holds and drop (and count) the overflow.
      if (this.spool) this.ledger.spill(queue.takeQueued());
      else if (queue.bytes > this.options.bufferMaxBytes)
        this.ledger.spillOverflow(this.options.bufferMaxBytes);
      return;
    }
    if (queue.bytes > this.options.bufferMaxBytes) this.ledger.spillOverflow(this.options.bufferMaxBytes / 2);
    if (phase === 'recovering' && queue.readyCount === 0 && queue.inFlightBatches === 0) {
      // Waiting out an outage with nothing in memory: ask the cluster whether it is back.
      if (this.spool?.hasData || queue.delayedCount > 0) this.probe();
      return;
    }
    if (!this.outage.active) this.ledger.replay();
    this.sendBatches();
  }

  private sendBatches(): void {
    const queue = this.queue;
    while (queue.inFlightBatches < this.options.concurrency) {
      // While the cluster may still be down, probe with one request, not `concurrency` of them.
      if (this.outage.active && queue.inFlightBatches > 0) return;
      // Likewise while a smaller bound after a refused request is not yet seen to pass.
      const limit = this.limit;
      if (limit.trial && queue.inFlightBatches > 0) return;
      const batch = queue.takeBatch(limit.items, limit.bytes);
      if (!batch) return;
      void this.send(batch);
    }
  }

  private probe(): void {
    const client = this.options.client;
    if (this.probing || !client) {
      if (!client) this.enterOutage();
      return;
    }
    this.probing = true;
    // Nodes info of the answering node, no metric: the cheapest request the shipped logger role may
    // make (`cluster:monitor/nodes/info`); `_cluster/health` is `monitor`'s, and its 403 read as
    // "still down" kept a spool from being replayed until a new event was logged.
    client.nodes
      .info(
        { node_id: '_local', metric: '_none' },
        { maxRetries: 0, requestTimeout: 5000, signal: this.abort.signal },
      )
      .then(
        () => {
          this.outage.recover();
          this.kick();
        },
        () => this.enterOutage(),
      )
      .finally(() => {
        this.probing = false;
        this.settle();
      });
  }

  private enterOutage(): void {
    this.outage.fail(Date.now());
  }

  private prepared: Promise<void> | undefined;

  private async send(batch: Batch<Item>): Promise<void> {
    const queue = this.queue;
    try {
      const client = this.options.client;
      if (!client) {
        this.ledger.warnOnce(
          'no-client',
          'mlmon: no Elasticsearch node configured; documents go to the spool',
        );
        if (queue.land(batch)) this.requestFailed(batch.items, new Error('no Elasticsearch node configured'));
        return;
      }
      if (this.options.prepare) {
        this.prepared ??= this.options.prepare(client).catch((error: unknown) => {
          this.ledger.warnOnce(
            'prepare',
            `mlmon: ${(error as Error).message}; run \`mlmon setup\` with credentials that may manage ` +
              'index templates: until then documents wait (buffer, spool), no index is created',
          );
        });
        await this.prepared;
      }
      const verdicts = await bulkRoundTrip(client, batch.items, {
        requestTimeoutMs: this.options.requestTimeoutMs,
        signal: this.abort.signal,
        // Spilled on a signal meanwhile (spillOnExit): the answer is not ours to act on.
        cancelled: () => !queue.isInFlight(batch),
      });
      if (verdicts && queue.land(batch)) {
        this.ledger.record(verdicts, Date.now());
        if (verdicts.failed) this.requestFailed(verdicts.failed.items, verdicts.failed.error);
        else {
          this.outage.recover();
          this.limit.passed(batch.items.length);
        }
      }
    } catch (error) {
      this.ledger.warnOnce(
        'internal',
        `mlmon: internal error while sending: ${(error as Error).stack ?? error}`,
      );
      if (queue.land(batch)) this.requestFailed(batch.items, error);
    } finally {
      queue.land(batch);
      this.settle();
      if (queue.readyCount > 0 || this.spool?.hasData) this.kick();
      else if (queue.delayedCount > 0) this.schedule(); // wake when the first retry is due
    }
  }

  /**
   * The whole request failed (its items have landed): unreachable, timeout, 429/5xx, or a 4xx for
   * the request itself.
   */
  private requestFailed(batch: readonly Item[], error: unknown): void {
    if (this.closed && this.closing) {
      // close() gave up waiting; keep the items on disk. The aborted request may have been stored.
      for (const item of batch) item.resend = true;
      this.ledger.spill(batch);
      return;
    }
    const failure = classifyRequestFailure(error);
    const status = failure.status;
    if (failure.kind === 'outage') {
      if (failure.warn)
        this.ledger.warnOnce(
          'unreachable',
          `mlmon: Elasticsearch is unreachable or failing (${status ?? (error as Error).message}); buffering and spooling`,
        );
      this.enterOutage();
      const now = Date.now();
      for (const item of batch) {
        // We never saw an answer: the request may have been stored in part or in full.
        item.resend = true;
        this.ledger.retryLater(item, now);
      }
      return;
    }
    // 413 for the request as a whole (a proxy's body limit, http.max_content_length; any other 4xx
    // is an outage, see classifyRequestFailure): nothing was stored. Back to
    // the front of the queue, and the next requests are half as large (batch-limit.ts), so the
    // limit, or the one document refused, is found in log2(n) requests; re-sending the same request
    // would be refused again at once, for ever.
    let bytes = 0;
    for (const item of batch) bytes += item.size;
    const limit = this.limit;
    if (batch.length > 1) {
      limit.refused(batch.length, bytes);
      this.ledger.warnOnce(
        'request-rejected',
        `mlmon: Elasticsearch or a proxy in front of it refused a bulk request of ${batch.length} documents ` +
          `(about ${bytes} bytes) with ${status}; sending smaller requests (at most ${limit.items} documents, ` +
          `${limit.bytes} bytes) and growing back once they pass; raise the proxy's body size limit ` +
          `(e.g. nginx client_max_body_size) or lower batchMaxBytes`,
      );
      this.queue.requeue(batch);
      return;
    }
    const only = batch[0];
    if (only)
      // Alone and still refused for its size: the document is the problem. Its dead letter keeps
      // the original cut to half the refused request, or it would be refused too.
      this.ledger.deadLetter(
        only,
        { type: 'request_rejected', message: (error as Error)?.message ?? String(error), status },
        Math.floor(bytes / 2),
      );
  }

  /**
   * Last chance on process exit or a terminating signal (exit-hook.ts): whatever is still in memory
   * goes to the spool, synchronously. After a signal the process may go on (pid 1 ignores SIGTERM
   * without a handler): the spool then stays open, its lock beating, and logging goes on.
   */
  spillOnExit(final: boolean): void {
    try {
      this.beforeCycle?.();
      const items = this.queue.takeQueued();
      // A request in flight may be stored or not: its items are re-sends from now on, and its answer,
      // if the process lives on to read it, is ignored (send() sees the batch gone).
      for (const item of this.queue.takeAll()) {
        item.resend = true;
        items.push(item);
      }
      if (items.length > 0) this.ledger.spill(items);
      if (final) this.spool?.close();
      else this.spool?.syncNow();
    } catch {
      // Exiting anyway.
    }
  }

  private get idle(): boolean {
    return this.queue.count === 0 && !(this.spool?.hasData ?? false);
  }

  /** Wakes flush() waiters when there is nothing left to do. */
  private settle(): void {
    if (this.waiters.length === 0) return;
    if (this.idle) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Sends everything now. Resolves true when everything accepted so far (spool included) is indexed or
   * dead-lettered; false when that did not happen within `timeoutMs` (what is left stays queued, or
   * on disk while Elasticsearch is unreachable). Never rejects.
   */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    this.beforeCycle?.();
    if (this.idle) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      // setTimeout treats Infinity (and anything past 2^31 - 1 ms) as 1 ms: no timer at all then.
      if (timeoutMs <= MAX_TIMER_MS) timer = setTimeout(resolve, Math.max(0, timeoutMs));
    });
    // A flush is a reason to try right away, even during an outage's backoff.
    this.outage.tryNow();
    this.ledger.holdUntil = 0;
    this.queue.dueAllNow();
    this.kick();
    await done;
    if (timer) clearTimeout(timer);
    return this.idle;
  }

  /**
   * Flushes (up to `timeoutMs`; Infinity waits until everything is delivered), then stops: what is
   * still in memory goes to the spool, requests still in flight are aborted and their items spooled.
   * Resolves with the final counters and what is left in the spool, and warns (one line, naming the
   * spool directory) when anything is. Never rejects.
   */
  async close(timeoutMs = 10_000): Promise<CloseResult> {
    if (this.closed)
      return (
        this.closeResult ?? { ...this.counters, pending: 0, elsewhere: 0, spool: undefined, timedOut: false }
      );
    const delivered = await this.flush(Number.isNaN(timeoutMs) ? 10_000 : Math.max(1, timeoutMs));
    this.beforeCycle?.();
    this.closing = true;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.ledger.spill(this.queue.takeQueued());
    if (this.queue.inFlightBatches > 0) {
      this.abort.abort();
      // Aborted requests land in requestFailed, which spools their items now that we are closed.
      while (this.queue.inFlightBatches > 0) await new Promise((r) => setTimeout(r, 10));
    }
    const paths = this.spool?.paths;
    this.spool?.close();
    unregisterExitSpill(this);
    const result: CloseResult = {
      ...this.counters,
      pending: 0,
      elsewhere: 0,
      spool: undefined,
      timedOut: !delivered,
    };
    if (this.spool && paths) Object.assign(result, this.ledger.spoolReport(paths));
    this.closeResult = result;
    return result;
  }

  private closeResult: CloseResult | undefined;
}
