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
 *                │  │          └──▶ other 4xx ─▶ dead-letter item ─▶ ready ─▶ … ─▶ deadLettered
 *                │  └─ buffer full / Elasticsearch unreachable ─▶ spool (disk) ─▶ dropped beyond cap
 *                └───────────── replay from spool when Elasticsearch answers again
 *
 * Everything runs off the caller's path: `enqueue` appends to an array and, at most, schedules a
 * flush cycle with setImmediate. The only exception is a caller that logs faster than the event loop
 * turns (a synchronous loop of many thousands of events): past twice the buffer size, `enqueue` writes
 * the overflow to the spool synchronously rather than drop it or grow without bound.
 *
 * Where the parts live: the memory (ready, delayed, in flight, and their bytes) in queue.ts; one
 * bulk request and its verdicts in bulk-round-trip.ts (over bulk-item.ts and resend-check.ts);
 * outage.ts, spool.ts, ack.ts. This file is the loop that moves items between them and counts.
 */
import type { Client } from '@elastic/elasticsearch';
import { buildDeadLetterDocument, type DeadLetterReason } from '../schema/deadletter.js';
import { dataStreamFields, destinationOf, type Destination } from '../schema/streams.js';
import { classifyRequestFailure, type HoldReason } from './bulk-item.js';
import { bulkRoundTrip, type BulkVerdicts } from './bulk-round-trip.js';
import { backoff, OutageState } from './outage.js';
import { ItemQueue, type Batch } from './queue.js';
import { Spool, spoolCensus, type FsyncPolicy, type SpoolFileRef, type SpoolOptions } from './spool.js';
import type { Ack } from './ack.js';
import { registerExitSpill, unregisterExitSpill, type ExitSpiller } from './exit-hook.js';

export { backoff };
export { stampIngested } from './bulk-round-trip.js';

export interface Counters {
  /** Documents accepted from callers (predictions, outcomes, resource samples). */
  accepted: number;
  /** Documents stored in Elasticsearch (a 409 conflict on create counts: it is already there). */
  indexed: number;
  /** Item retries after 429, 5xx or an unreachable cluster (an item retried twice counts twice). */
  retried: number;
  /** Items written to the disk spool (an item spooled twice counts twice). */
  spooled: number;
  /** Documents stored in the dead-letter stream instead of their own. */
  deadLettered: number;
  /** Documents given up: spool full, spool unusable, torn spool lines, dead letters that failed. */
  dropped: number;
  /** Documents read back from spool files left by an earlier logger (not in `accepted`). */
  recovered: number;
  /**
   * Of `indexed`, how many were already there (by an earlier attempt or run): a 409 on create, or
   * found in an older backing index by the look-up before a re-send.
   */
  conflicts: number;
}

/**
 * What `close()` resolves with: the final counters, and what was not delivered. A superset of
 * {@link Counters}, so code that read the counters from `close()` reads them still.
 */
export interface CloseResult extends Counters {
  /**
   * Documents not in Elasticsearch when close() resolved: left in the spool (the records of this
   * logger's spool files, its own and any adopted from an earlier logger not yet replayed). 0 when
   * everything was delivered. Without a spool, what was left is in `dropped` instead.
   */
  pending: number;
  /** Where those are (undefined without a spool): deliver with `mlmon spool flush --dir <dir>`. */
  spool: { dir: string; files: number; bytes: number } | undefined;
  /**
   * Documents in the same spool directory that are not this logger's: files of another logger that
   * is alive (a replica on the same volume) or gone less than `spool.staleMs` ago (a container
   * restart's predecessor, not yet adopted). A logger on that directory delivers them; `pending`
   * plus `elsewhere` is what the directory holds.
   */
  elsewhere: number;
  /** True when close() stopped waiting at its timeout (with `pending` > 0 or not). */
  timedOut: boolean;
}

export interface ShipperOptions {
  client: Client | undefined;
  /** Memory buffer size, bytes of serialised documents (default 16 MiB). Past it, spill to the spool. */
  bufferMaxBytes: number;
  /** Bulk request size caps (defaults 2 MiB, 10,000 documents). */
  batchMaxBytes: number;
  batchMaxItems: number;
  /** A flush cycle runs at least this often (default 1,000 ms). */
  flushIntervalMs: number;
  /** Bulk requests in flight at once (default 4). */
  concurrency: number;
  requestTimeoutMs: number;
  /** Backoff: first retry after about `retryBaseMs`, doubling, capped at `retryMaxMs`, with jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  spool: SpoolOptions | false;
  deadLetterIndex: string;
  /** One warning per kind per interval (default 60 s). */
  warnIntervalMs: number;
  warn: (message: string) => void;
  /**
   * Runs once before the first bulk request (the logger makes sure mlmon's index templates exist, so
   * a service that logs before anyone ran `mlmon setup` does not create indices with guessed
   * mappings). A failure is warned about and does not stop delivery.
   */
  prepare?: (client: Client) => Promise<void>;
}

export const SHIPPER_DEFAULTS = {
  bufferMaxBytes: 16 * 1024 * 1024,
  // 4 requests of at most 2 MiB: Elasticsearch's write threads always have the next request
  // waiting while we read an answer and build a body, and what is in flight (8 MiB) stays within half
  // the buffer, so a full pipeline alone never pushes ready documents to the spool. Measured against
  // 2 × 5 MiB in bench/RESULTS.md.
  batchMaxBytes: 2 * 1024 * 1024,
  batchMaxItems: 10_000,
  flushIntervalMs: 1000,
  concurrency: 4,
  requestTimeoutMs: 30_000,
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  warnIntervalMs: 60_000,
  spool: {
    dir: '.mlmon-spool',
    maxBytes: 512 * 1024 * 1024,
    fileMaxBytes: 4 * 1024 * 1024,
    fsync: 'interval' as FsyncPolicy,
    fsyncIntervalMs: 1000,
  },
};

export enum Kind {
  Document = 0,
  DeadLetter = 1,
}

export interface Item {
  readonly id: string;
  readonly index: string;
  readonly doc: string;
  /** Approximate bytes (UTF-16 length of the document plus the action line); see queue.ts. */
  readonly size: number;
  readonly kind: Kind;
  /** A data stream or a regular index (the pairs index): whether `require_data_stream` is sent. */
  readonly destination: Destination;
  attempts: number;
  notBefore: number;
  /** The spool file this item was replayed from; released when it reaches a final state. */
  origin: SpoolFileRef | undefined;
  /** True for items read back from an earlier logger's spool (for the counters). */
  recovered: boolean;
  /**
   * True when an earlier attempt may have stored this item although we never saw the answer (a
   * timeout, a reset connection, a failed request), or when it comes from the spool (which cannot
   * tell). `_id` + `create` deduplicates within one backing index only, so before such an item is
   * sent again we look it up in every backing index of its stream (see resend-check.ts).
   */
  resend: boolean;
  /** The durability acknowledgement this item belongs to (`mlmon collect`), settled once. */
  ack: Ack | undefined;
}

/** Bytes an item counts for: its document, plus about what its action line adds. */
function itemSize(index: string, id: string, doc: string): number {
  return doc.length + index.length + id.length + 40;
}

/**
 * Per-item retries (429, 5xx, a write block) before the item is held: about 20-36 s of backoff with
 * the defaults (250 ms doubling to 10 s). A block nobody clears must not keep documents cycling in
 * memory for ever; held, they wait in the spool (see `hold`).
 */
export const MAX_ITEM_ATTEMPTS = 8;
/** A held document is tried again after this many `retryMaxMs` (60 s with the defaults). */
const HOLD_RETRY_MAX_MULTIPLE = 6;
/** The longest delay setTimeout honours; longer ones (Infinity included) fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Shipper implements ExitSpiller {
  readonly counters: Counters = {
    accepted: 0,
    indexed: 0,
    retried: 0,
    spooled: 0,
    deadLettered: 0,
    dropped: 0,
    recovered: 0,
    conflicts: 0,
  };
  /** Ready, delayed and in flight, with their bytes. */
  private readonly queue = new ItemQueue<Item>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Whether the cluster answers (healthy / outage / recovering); see outage.ts. */
  private readonly outage: OutageState;
  private probing = false;
  private closing = false;
  private closed = false;
  private readonly spool: Spool | undefined;
  private waiters: Array<() => void> = [];
  private readonly lastWarning = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private readonly abort = new AbortController();
  /** `data_stream` of every dead letter, built once. */
  private readonly deadLetterStream: object | undefined;

  constructor(private readonly options: ShipperOptions) {
    this.deadLetterStream = dataStreamFields(options.deadLetterIndex);
    this.outage = new OutageState(options.retryBaseMs, options.retryMaxMs);
    if (options.spool) {
      this.spool = new Spool(options.spool, (m) => this.warnOnce('spool', m));
      // Adopt what an earlier, crashed logger left behind; it is replayed once the cluster answers.
      this.spool.open();
    }
    registerExitSpill(this);
    this.schedule();
  }

  /**
   * Called at the start of every flush cycle, flush and close, and on process exit: the logger
   * builds the documents it deferred off the caller's path.
   */
  beforeCycle: (() => void) | undefined;

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
      this.warnOnce('closed', 'mlmon: a document was logged after close(); it was dropped');
      return;
    }
    const queue = this.queue;
    queue.push({
      id,
      index,
      doc,
      size: itemSize(index, id, doc),
      kind,
      destination: destinationOf(index),
      attempts: 0,
      notBefore: 0,
      origin: undefined,
      recovered: false,
      resend: false,
      ack,
    });
    const bytes = queue.bytes;
    if (bytes > 2 * this.options.bufferMaxBytes) this.spillOverflow(this.options.bufferMaxBytes);
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
      dataStream: this.deadLetterStream,
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
      this.warnOnce(
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
      if (this.spool) this.spillItems(queue.takeQueued());
      else if (queue.bytes > this.options.bufferMaxBytes) this.spillOverflow(this.options.bufferMaxBytes);
      return;
    }
    if (queue.bytes > this.options.bufferMaxBytes) this.spillOverflow(this.options.bufferMaxBytes / 2);
    if (phase === 'recovering' && queue.readyCount === 0 && queue.inFlightBatches === 0) {
      // Waiting out an outage with nothing in memory: ask the cluster whether it is back.
      if (this.spool?.hasData || queue.delayedCount > 0) this.probe();
      return;
    }
    this.replay();
    this.sendBatches();
  }

  private sendBatches(): void {
    const queue = this.queue;
    while (queue.inFlightBatches < this.options.concurrency) {
      // While the cluster may still be down, probe with one request, not `concurrency` of them.
      if (this.outage.active && queue.inFlightBatches > 0) return;
      const batch = queue.takeBatch(this.options.batchMaxItems, this.options.batchMaxBytes);
      if (!batch) return;
      void this.send(batch);
    }
  }

  /** Reads spool files into memory while there is room and nothing newer is waiting. */
  private replay(): void {
    const spool = this.spool;
    if (!spool || !spool.hasData || this.outage.active || Date.now() < this.holdUntil) return;
    const queue = this.queue;
    while (spool.hasData && queue.readyCount < this.options.batchMaxItems) {
      const room = this.options.bufferMaxBytes / 2 - queue.bytes;
      const loaded = spool.loadNext(room, queue.bytes === 0);
      if (!loaded) return;
      if (loaded.corrupt > 0) {
        this.counters.dropped += loaded.corrupt;
        this.warnOnce(
          'torn',
          `mlmon: ${loaded.corrupt} torn line(s) in spool file ${loaded.file.path} skipped`,
        );
      }
      const adopted = loaded.adopted;
      for (const record of loaded.records) {
        queue.push({
          id: record.id,
          index: record.index,
          doc: record.doc,
          size: itemSize(record.index, record.id, record.doc),
          kind: record.index === this.options.deadLetterIndex ? Kind.DeadLetter : Kind.Document,
          destination: destinationOf(record.index),
          attempts: 0,
          notBefore: 0,
          origin: loaded.file,
          recovered: adopted,
          // Spilled from our own buffer before any attempt: nothing to look up. Anything else from
          // the spool may have reached Elasticsearch (an adopted file cannot tell).
          resend: !loaded.fresh,
          ack: undefined,
        });
      }
      if (adopted) {
        this.counters.recovered += loaded.records.length;
        // Torn lines of an earlier logger were never counted as accepted here; count them as recovered.
        this.counters.recovered += loaded.corrupt;
      }
    }
  }

  private probe(): void {
    const client = this.options.client;
    if (this.probing || !client) {
      if (!client) this.enterOutage();
      return;
    }
    this.probing = true;
    client.cluster
      .health({ timeout: '1s' }, { maxRetries: 0, requestTimeout: 5000, signal: this.abort.signal })
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
        this.warnOnce('no-client', 'mlmon: no Elasticsearch node configured; documents go to the spool');
        if (queue.land(batch)) this.requestFailed(batch.items, new Error('no Elasticsearch node configured'));
        return;
      }
      if (this.options.prepare) {
        this.prepared ??= this.options.prepare(client).catch((error: unknown) => {
          this.warnOnce(
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
      if (verdicts && queue.land(batch)) this.apply(verdicts);
    } catch (error) {
      this.warnOnce('internal', `mlmon: internal error while sending: ${(error as Error).stack ?? error}`);
      if (queue.land(batch)) this.requestFailed(batch.items, error);
    } finally {
      queue.land(batch);
      this.settle();
      if (queue.readyCount > 0 || this.spool?.hasData) this.kick();
      else if (queue.delayedCount > 0) this.schedule(); // wake when the first retry is due
    }
  }

  /** Acts on the verdicts of one round trip (the batch has landed: each item is put back or let go). */
  private apply(verdicts: BulkVerdicts<Item>): void {
    if (verdicts.lookupRefused !== undefined)
      this.warnOnce(
        'resend-check',
        `mlmon: cannot check re-sent documents for copies in older backing indices (${verdicts.lookupRefused}); ` +
          'grant read and view_index_metadata on the mlmon data streams to rule out duplicates after a rollover',
      );
    for (const item of verdicts.conflicts) {
      this.counters.conflicts++;
      this.finish(item, 'stored');
    }
    if (verdicts.failed) {
      this.requestFailed(verdicts.failed.items, verdicts.failed.error);
      return;
    }
    this.outage.recover();
    for (const item of verdicts.stored) this.finish(item, 'stored');
    const now = Date.now();
    const held: Item[] = [];
    for (const { item, status } of verdicts.retry)
      if (item.attempts + 1 >= MAX_ITEM_ATTEMPTS)
        held.push(this.holdItem(item, 'retries', `${status ?? 'no answer'}`, now));
      else this.retryLater(item, now);
    for (const { item, why, detail } of verdicts.held) held.push(this.holdItem(item, why, detail, now));
    for (const { item, reason } of verdicts.deadLetter) this.deadLetter(item, reason);
    this.keepHeld(held);
  }

  /**
   * The whole request failed (its items have landed): unreachable, timeout, 429/5xx, or a 4xx for
   * the request itself.
   */
  private requestFailed(batch: readonly Item[], error: unknown): void {
    if (this.closed && this.closing) {
      // close() gave up waiting; keep the items on disk. The aborted request may have been stored.
      for (const item of batch) item.resend = true;
      this.spillItems(batch);
      return;
    }
    const failure = classifyRequestFailure(error);
    const status = failure.status;
    if (failure.kind === 'outage') {
      if (failure.warn)
        this.warnOnce(
          'unreachable',
          `mlmon: Elasticsearch is unreachable or failing (${status ?? (error as Error).message}); buffering and spooling`,
        );
      this.enterOutage();
      const now = Date.now();
      for (const item of batch) {
        // We never saw an answer: the request may have been stored in part or in full.
        item.resend = true;
        this.retryLater(item, now);
      }
      return;
    }
    // A 4xx for the request as a whole (e.g. 413 too large): back to the front of the queue; a
    // single document is dead-lettered.
    if (batch.length > 1) {
      this.queue.requeue(batch);
      return;
    }
    const only = batch[0];
    if (only)
      this.deadLetter(only, {
        type: 'request_rejected',
        message: (error as Error)?.message ?? String(error),
        status,
      });
  }

  /** Until when the spool is not replayed, after documents were held (epoch ms; 0: not holding). */
  private holdUntil = 0;

  private get holdMs(): number {
    return HOLD_RETRY_MAX_MULTIPLE * this.options.retryMaxMs;
  }

  /**
   * An item that waits for the operator (a missing privilege, no data stream) or ran out of
   * per-item retries: never counted as delivered, dead-lettered or dropped. Says in one line (per
   * stream and cause, rate-limited) what is wrong and what to do; `keepHeld` then puts it aside.
   */
  private holdItem(item: Item, why: HoldReason | 'retries', detail: string, now: number): Item {
    this.holdUntil = now + this.holdMs;
    const where = this.spool ? `kept in the spool ${this.spool.dir}` : 'kept in memory';
    const again = `tried again every ${Math.round(this.holdMs / 1000)} s and on flush()`;
    const message =
      why === 'forbidden'
        ? `mlmon: Elasticsearch refuses writes to ${item.index} (${detail}): the credentials need the ` +
          `create_doc privilege on ${item.index} (security/logger.json); documents ${where}, ${again}`
        : why === 'no-stream'
          ? `mlmon: ${item.index} is not a data stream and the logger may not create one (${detail}): ` +
            `run \`mlmon setup\` (it installs the index templates and names plain indices in the way); ` +
            `documents ${where}, ${again}`
          : `mlmon: documents for ${item.index} still refused after ${MAX_ITEM_ATTEMPTS} attempts ` +
            `(last status ${detail}); ${where}, ${again}`;
    this.warnOnce(`hold:${why}:${item.index}`, message);
    item.attempts = 0;
    return item;
  }

  /** Held items go to the spool (not replayed before `holdUntil`), or wait in memory without one. */
  private keepHeld(held: Item[]): void {
    if (held.length === 0) return;
    if (this.spool) {
      this.spillItems(held);
      return;
    }
    for (const item of held) {
      item.notBefore = this.holdUntil;
      this.queue.delay(item);
    }
  }

  private retryLater(item: Item, now: number): void {
    item.attempts++;
    this.counters.retried++;
    item.notBefore = now + backoff(item.attempts - 1, this.options.retryBaseMs, this.options.retryMaxMs);
    this.queue.delay(item);
  }

  private deadLetter(item: Item, reason: DeadLetterReason): void {
    if (item.kind === Kind.DeadLetter) {
      this.warnOnce(
        'deadletter-failed',
        `mlmon: a dead letter was rejected too (${reason.message}); dropped`,
      );
      this.finish(item, 'dropped');
      return;
    }
    const doc = JSON.stringify(
      buildDeadLetterDocument(item.doc, reason, item.index, { dataStream: this.deadLetterStream }),
    );
    const index = this.options.deadLetterIndex;
    // The dead letter replaces the item: same id, same spool origin and ack, same place in the
    // counters; a new document, never sent.
    this.queue.push({
      ...item,
      index,
      doc,
      size: itemSize(index, item.id, doc),
      kind: Kind.DeadLetter,
      destination: destinationOf(index),
      attempts: 0,
      resend: false,
    });
  }

  private finish(item: Item, how: 'stored' | 'dropped'): void {
    if (how === 'dropped') this.counters.dropped++;
    else if (item.kind === Kind.DeadLetter) this.counters.deadLettered++;
    else this.counters.indexed++;
    if (item.origin) this.spool?.release(item.origin);
    if (item.ack) {
      item.ack.settle(
        how === 'dropped' ? 'dropped' : item.kind === Kind.DeadLetter ? 'deadLettered' : 'indexed',
      );
      item.ack = undefined;
    }
  }

  /** Moves items to the spool (or drops and counts them when it is full or unusable). */
  private spillItems(items: readonly Item[]): void {
    if (items.length === 0) return;
    const written = this.spool ? this.spool.append(items) : 0;
    // An acknowledged item is durable only once on disk: fsync before settling its ack.
    if (written > 0 && items.some((item) => item.ack)) this.spool?.syncNow();
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Item;
      if (i < written) {
        this.counters.spooled++;
        if (item.origin) this.spool?.release(item.origin);
      } else {
        this.counters.dropped++;
        if (item.origin) this.spool?.release(item.origin);
      }
      if (item.ack) {
        item.ack.settle(i < written ? 'spooled' : 'dropped');
        item.ack = undefined;
      }
    }
    if (written < items.length)
      this.warnOnce(
        'dropped',
        this.spool
          ? `mlmon: spool full (${this.options.spool ? this.options.spool.maxBytes : 0} bytes) or unusable; ` +
              `${items.length - written} document(s) dropped (counters.dropped counts them all)`
          : `mlmon: buffer full and no spool configured; ${items.length - written} document(s) dropped`,
      );
  }

  /** Spills the newest ready items until memory is at most `target` bytes. */
  private spillOverflow(target: number): void {
    this.spillItems(this.queue.spillNewest(target));
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
      if (items.length > 0) this.spillItems(items);
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
    this.holdUntil = 0;
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
    this.spillItems(this.queue.takeQueued());
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
    if (this.spool && paths) {
      const census = spoolCensus(this.spool.dir, paths);
      result.pending = census.events;
      result.elsewhere = Math.max(0, spoolCensus(this.spool.dir).events - census.events);
      result.spool = { dir: this.spool.dir, files: census.files, bytes: census.bytes };
      if (result.elsewhere > 0)
        try {
          this.options.warn(
            `mlmon: the spool ${this.spool.dir} holds ${result.elsewhere} more document(s) in files of ` +
              `other loggers (alive, or gone less than spool.staleMs ago); a logger on this directory ` +
              `or \`mlmon spool flush --dir ${this.spool.dir}\` delivers them once their owner is gone`,
          );
        } catch {
          // A failing warning sink must not break close().
        }
      if (census.events > 0) {
        // Not rate-limited: once per logger, and a batch job that exits must not miss it.
        try {
          this.options.warn(
            `mlmon: close() left ${census.events} document(s) undelivered in the spool ${this.spool.dir} ` +
              `(${census.files} file(s), ${census.bytes} bytes): deliver them with ` +
              `\`mlmon spool flush --dir ${this.spool.dir}\` or a logger with the same spool.dir`,
          );
        } catch {
          // A failing warning sink must not break close().
        }
      }
    }
    this.closeResult = result;
    return result;
  }

  private closeResult: CloseResult | undefined;

  /** Rate-limited warnings: the first of a kind at once, then one per interval with a count. */
  warnOnce(kind: string, message: string): void {
    const now = Date.now();
    const last = this.lastWarning.get(kind);
    if (last !== undefined && now - last < this.options.warnIntervalMs) {
      this.suppressed.set(kind, (this.suppressed.get(kind) ?? 0) + 1);
      return;
    }
    const skipped = this.suppressed.get(kind) ?? 0;
    this.suppressed.delete(kind);
    this.lastWarning.set(kind, now);
    try {
      this.options.warn(skipped > 0 ? `${message} (${skipped} similar warning(s) suppressed)` : message);
    } catch {
      // A failing warning sink must not break the logger.
    }
  }
}
