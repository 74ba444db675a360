/**
 * The collector's memory budget (`collector.memoryBudget`): what requests in flight and the logger
 * core's buffer may hold beyond the idle process, so that a pod's memory limit can be sized as
 * idle process + budget + headroom (docs/collect.md, "Memory").
 *
 * Two views of the same memory, and a request is admitted only when both leave room for it:
 *
 * - **accounted**: each request in flight reserves an estimate of the most it will hold over its
 *   whole life (raw body, decoded and parsed payload, the half read back from Elasticsearch, the
 *   documents it expands to, their bulk bodies), plus the bytes the logger core holds in memory;
 * - **measured**: the process's resident memory above what it was idle. This is what a pod's limit
 *   sees, and it includes what no estimate covers: garbage that V8 has not collected yet (a 0.75 MB
 *   KServe half leaves several MB of it), the Elasticsearch client's buffers, fragmentation.
 *
 * When only the measured view is over, the memory is mostly garbage: one full collection (at most
 * every {@link COLLECT_EVERY_MS}) is forced before refusing. V8 would collect it by itself only once
 * its heap reaches a limit it sets from the live size, which lets resident memory grow to several
 * times what the requests hold (seen: 418 MiB under a budget meant to be 64 MiB). `global.gc` is
 * reached through the documented V8 flag `--expose-gc`, set at run time (node:v8
 * setFlagsFromString), not for the whole process's command line: only this module calls it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Shortest time between two forced collections (a full GC of ~200 MB takes ~50-100 ms). */
const COLLECT_EVERY_MS = 200;

/**
 * How long a reading of resident memory serves: reading it costs a /proc read (~6 % of the
 * collector's CPU when every request read it, in a profile of 1,200 KServe pairs/s); in 5 ms a
 * request admitted on the previous reading is still counted by its reservation.
 */
const RESIDENT_FOR_MS = 5;

/** Above this share of the budget (measured), a collection is forced after a request ends. */
const RELIEVE_AT = 0.5;

let forcedGc: (() => void) | null | undefined;

/** `gc()` of V8, exposed once; null when this runtime refuses the flag. */
function gcFunction(): (() => void) | null {
  if (forcedGc !== undefined) return forcedGc;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    forcedGc = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    forcedGc = null;
  }
  return forcedGc;
}

export interface MemoryBudgetOptions {
  /** Bytes requests and the logger buffer may hold beyond the idle process. */
  limit: number;
  /** Bytes the logger core may hold in memory (its buffer and bulk requests in flight). */
  held: () => number;
  /** Whether the logger core holds nothing in memory now (the process is idle). */
  quiet: () => boolean;
  /** Resident memory of the process now (default `process.memoryUsage.rss()`; tests replace it). */
  resident?: () => number;
}

export class MemoryBudget {
  readonly limit: number;
  private reserved = 0;
  private readonly reservations = new WeakMap<object, number>();
  private idle: number;
  private lastCollect = 0;
  private readonly held: () => number;
  private readonly quiet: () => boolean;
  private readonly resident: () => number;
  /** Forced collections so far (for the metrics). */
  collections = 0;

  constructor(options: MemoryBudgetOptions) {
    this.limit = options.limit;
    this.held = options.held;
    this.quiet = options.quiet;
    this.resident = options.resident ?? (() => process.memoryUsage.rss());
    this.idle = this.resident();
  }

  /** Takes the resident memory now as the idle process's (once the server listens). */
  markIdle(): void {
    this.idle = this.resident();
  }

  private lastResident = 0;
  private residentAt = Number.NEGATIVE_INFINITY;

  /** Resident memory, read at most every {@link RESIDENT_FOR_MS}. */
  private residentNow(): number {
    const now = performance.now();
    if (now - this.residentAt >= RESIDENT_FOR_MS) {
      this.lastResident = this.resident();
      this.residentAt = now;
    }
    return this.lastResident;
  }

  /** Resident bytes above the idle process. */
  get measured(): number {
    return Math.max(0, this.residentNow() - this.idle);
  }

  /** Reserved by requests in flight plus held by the logger core. */
  get accounted(): number {
    return this.reserved + this.held();
  }

  /** What the budget counts as used: the larger of the two views. */
  get used(): number {
    return Math.max(this.measured + this.reserved, this.accounted);
  }

  /**
   * Reserves `bytes` for `owner` (a request) for its whole life; false when that would pass the
   * budget even after collecting garbage. Nothing is reserved then.
   */
  admit(owner: object, bytes: number): boolean {
    if (this.accounted + bytes > this.limit) return false;
    // Resident memory plus every reservation: requests admitted a moment ago have not read their
    // bodies yet, and those that have are counted twice, which errs on the side of the limit.
    if (this.measured + this.reserved + bytes > this.limit) {
      this.collect();
      if (this.measured + this.reserved + bytes > this.limit) return false;
    }
    this.reserved += bytes;
    this.reservations.set(owner, (this.reservations.get(owner) ?? 0) + bytes);
    return true;
  }

  /** Ends `owner`'s reservation; collects garbage when resident memory is near the budget. */
  release(owner: object): void {
    const bytes = this.reservations.get(owner);
    if (bytes === undefined) return;
    this.reserved -= bytes;
    this.reservations.delete(owner);
    this.relieve();
  }

  /** Collects garbage when resident memory is near the budget (for long tasks between steps too). */
  relieve(): void {
    if (this.measured > RELIEVE_AT * this.limit) this.collect();
    // The idle process may be smaller than at start (start-up garbage collected since): the
    // smaller figure makes the measured view the stricter one.
    if (this.reserved === 0 && this.quiet()) this.idle = Math.min(this.idle, this.residentNow());
  }

  private watcher: NodeJS.Timeout | undefined;

  /**
   * Checks every 100 ms as well: memory also grows while no request begins or ends (the logger
   * core replaying its spool, bulk requests and their answers).
   */
  watch(): void {
    this.watcher ??= setInterval(() => this.relieve(), 100);
    this.watcher.unref();
  }

  unwatch(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  /** One forced full collection, at most every {@link COLLECT_EVERY_MS}. */
  private collect(): void {
    const now = Date.now();
    if (now - this.lastCollect < COLLECT_EVERY_MS) return;
    const gc = gcFunction();
    if (!gc) return;
    this.lastCollect = now;
    this.collections++;
    gc();
    this.residentAt = Number.NEGATIVE_INFINITY;
  }
}
