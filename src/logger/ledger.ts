/**
 * Where every accepted document is, and the counters that say so: in memory (queue.ts), in the
 * spool, or in a final state (indexed, dead-lettered, dropped) with its acknowledgement settled
 * and its spool file released. The shipper (shipper.ts) decides when to send and what a failed
 * request means; every move of a document, and the count that goes with it, is made here.
 */
import { buildDeadLetterDocument, type DeadLetterReason } from '../schema/deadletter.js';
import { dataStreamFields, destinationOf, type Destination } from '../schema/streams.js';
import type { Ack } from './ack.js';
import type { HoldReason } from './bulk-item.js';
import type { BulkVerdicts } from './bulk-round-trip.js';
import { backoff } from './outage.js';
import { ItemQueue } from './queue.js';
import type { Counters, ShipperOptions } from './shipper-options.js';
import { Spool, spoolCensus, type SpoolFileRef } from './spool.js';

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
export function itemSize(index: string, id: string, doc: string): number {
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

export type LedgerOptions = Pick<
  ShipperOptions,
  | 'bufferMaxBytes'
  | 'batchMaxItems'
  | 'retryBaseMs'
  | 'retryMaxMs'
  | 'spool'
  | 'deadLetterIndex'
  | 'warnIntervalMs'
  | 'warn'
>;

export class Ledger {
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
  readonly queue = new ItemQueue<Item>();
  readonly spool: Spool | undefined;
  /** `data_stream` of every dead letter, built once. */
  readonly deadLetterStream: object | undefined;
  /** Until when the spool is not replayed, after documents were held (epoch ms; 0: not holding). */
  holdUntil = 0;
  private readonly lastWarning = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly options: LedgerOptions) {
    this.deadLetterStream = dataStreamFields(options.deadLetterIndex);
    if (options.spool) {
      this.spool = new Spool(options.spool, (m) => this.warnOnce('spool', m));
      // Adopt what an earlier, crashed logger left behind; it is replayed once the cluster answers.
      this.spool.open();
    }
  }

  /** Queues a new document (counted as accepted by the caller). */
  push(index: string, id: string, doc: string, kind: Kind, ack: Ack | undefined): void {
    this.queue.push({
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
  }

  /**
   * Acts on the verdicts of an answered round trip (the batch has landed: each item is put back
   * or let go). The documents in `failed` have no verdict: the shipper handles them.
   */
  record(verdicts: BulkVerdicts<Item>, now: number): void {
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
    for (const item of verdicts.stored) this.finish(item, 'stored');
    const held: Item[] = [];
    for (const { item, status } of verdicts.retry)
      if (item.attempts + 1 >= MAX_ITEM_ATTEMPTS)
        held.push(this.holdItem(item, 'retries', `${status ?? 'no answer'}`, now));
      else this.retryLater(item, now);
    for (const { item, why, detail } of verdicts.held) held.push(this.holdItem(item, why, detail, now));
    for (const { item, reason } of verdicts.deadLetter) this.deadLetter(item, reason);
    this.keepHeld(held);
  }

  /** Reads spool files into memory while there is room and nothing newer is waiting. */
  replay(): void {
    const spool = this.spool;
    if (!spool || !spool.hasData || Date.now() < this.holdUntil) return;
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
          `create_doc privilege on ${item.index} (security/mlmon-logger.json); documents ${where}, ${again}`
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
      this.spill(held);
      return;
    }
    for (const item of held) {
      item.notBefore = this.holdUntil;
      this.queue.delay(item);
    }
  }

  retryLater(item: Item, now: number): void {
    item.attempts++;
    this.counters.retried++;
    item.notBefore = now + backoff(item.attempts - 1, this.options.retryBaseMs, this.options.retryMaxMs);
    this.queue.delay(item);
  }

  /** `originalMax`: the longest `event.original` (default and cap MAX_ORIGINAL_LENGTH). */
  deadLetter(item: Item, reason: DeadLetterReason, originalMax?: number): void {
    if (item.kind === Kind.DeadLetter) {
      this.warnOnce(
        'deadletter-failed',
        `mlmon: a dead letter was rejected too (${reason.message}); dropped`,
      );
      this.finish(item, 'dropped');
      return;
    }
    const doc = JSON.stringify(
      buildDeadLetterDocument(item.doc, reason, item.index, {
        dataStream: this.deadLetterStream,
        originalMax,
      }),
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

  finish(item: Item, how: 'stored' | 'dropped'): void {
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
  spill(items: readonly Item[]): void {
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
  spillOverflow(target: number): void {
    this.spill(this.queue.spillNewest(target));
  }

  /**
   * What close() reports of the spool once it is closed: this logger's files (`paths`) and the
   * other loggers' files in the same directory, each warned about in one line.
   */
  spoolReport(paths: ReadonlySet<string>): {
    pending: number;
    elsewhere: number;
    spool: { dir: string; files: number; bytes: number };
  } {
    const dir = (this.spool as Spool).dir;
    const census = spoolCensus(dir, paths);
    const elsewhere = Math.max(0, spoolCensus(dir).events - census.events);
    if (elsewhere > 0)
      this.warnAlways(
        `mlmon: the spool ${dir} holds ${elsewhere} more document(s) in files of other loggers ` +
          `(alive, or gone less than spool.staleMs ago); a logger on this directory or ` +
          `\`mlmon spool flush --dir ${dir}\` delivers them once their owner is gone`,
      );
    // Not rate-limited: once per logger, and a batch job that exits must not miss it.
    if (census.events > 0)
      this.warnAlways(
        `mlmon: close() left ${census.events} document(s) undelivered in the spool ${dir} ` +
          `(${census.files} file(s), ${census.bytes} bytes): deliver them with ` +
          `\`mlmon spool flush --dir ${dir}\` or a logger with the same spool.dir`,
      );
    return { pending: census.events, elsewhere, spool: { dir, files: census.files, bytes: census.bytes } };
  }

  /** A warning not rate-limited; a failing warning sink must not break the logger. */
  private warnAlways(message: string): void {
    try {
      this.options.warn(message);
    } catch {
      // Nothing to do.
    }
  }

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
