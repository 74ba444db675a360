/**
 * The shipper's memory: documents ready to send, waiting out a retry's backoff (delayed), and in
 * flight. The queue owns the byte counts: every move between those places goes through a method
 * here, which updates them, so no caller adjusts a counter by hand (they drifted when the shipper
 * did: a signal's spill left `readyBytes` behind). An item's `size` is read-only for that reason:
 * a changed document (a dead letter replacing its item) is a new item.
 *
 *   push ─▶ ready ─takeBatch─▶ in flight ─land─▶ (the caller puts each item back, or lets it go)
 *            ▲  ▲                                     │ requeue (front) · delay · push (a dead letter)
 *            │  └──────────── promoteDue ◀── delayed ◀┘
 *            └─ spillNewest / takeQueued / takeAll remove items (to the spool)
 *
 * An item that lands and is not put back has left memory (stored, dropped, spooled): nothing to do.
 */

/** What the queue needs of an item: its size, and when a delayed one is due (epoch ms). */
export interface Queued {
  readonly size: number;
  notBefore: number;
}

/** Items taken together for one bulk request, with their bytes at the time they were taken. */
export interface Batch<T> {
  readonly items: readonly T[];
  readonly bytes: number;
}

export class ItemQueue<T extends Queued> {
  private ready: T[] = [];
  private delayed: T[] = [];
  private readonly inFlight = new Set<Batch<T>>();
  private readySize = 0;
  private delayedSize = 0;
  private inFlightSize = 0;
  private inFlightItems = 0;

  /** Bytes ready to send. */
  get readyBytes(): number {
    return this.readySize;
  }

  /** Bytes in memory: ready, delayed and in flight. */
  get bytes(): number {
    return this.readySize + this.delayedSize + this.inFlightSize;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  get delayedCount(): number {
    return this.delayed.length;
  }

  get inFlightBatches(): number {
    return this.inFlight.size;
  }

  /** Items in memory: ready, delayed and in flight. */
  get count(): number {
    return this.ready.length + this.delayed.length + this.inFlightItems;
  }

  /** Appends to the ready items (a new document, a replayed one, a dead letter). */
  push(item: T): void {
    this.ready.push(item);
    this.readySize += item.size;
  }

  /** Puts items back at the front of the ready items, in their order (a request to try again). */
  requeue(items: readonly T[]): void {
    if (items.length === 0) return;
    let bytes = 0;
    for (const item of items) bytes += item.size;
    this.ready = items.concat(this.ready);
    this.readySize += bytes;
  }

  /** Waits until `item.notBefore` (set by the caller), then {@link promoteDue} makes it ready. */
  delay(item: T): void {
    this.delayed.push(item);
    this.delayedSize += item.size;
  }

  /** Moves the delayed items due at `now` to the front of the ready ones. */
  promoteDue(now: number): void {
    if (this.delayed.length === 0) return;
    const due: T[] = [];
    const later: T[] = [];
    let bytes = 0;
    for (const item of this.delayed) {
      if (item.notBefore <= now) {
        due.push(item);
        bytes += item.size;
      } else later.push(item);
    }
    if (due.length === 0) return;
    this.delayed = later;
    this.delayedSize -= bytes;
    this.ready = due.concat(this.ready);
    this.readySize += bytes;
  }

  /** Makes every delayed item due now (a flush is a reason to try at once). */
  dueAllNow(): void {
    for (const item of this.delayed) item.notBefore = 0;
  }

  /** The earliest `notBefore` of the delayed items, or undefined when none waits. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const item of this.delayed) if (next === undefined || item.notBefore < next) next = item.notBefore;
    return next;
  }

  /**
   * Takes the oldest ready items, up to `maxItems` and `maxBytes` (at least one), into flight;
   * undefined when nothing is ready.
   */
  takeBatch(maxItems: number, maxBytes: number): Batch<T> | undefined {
    let bytes = 0;
    let n = 0;
    while (n < this.ready.length && n < maxItems) {
      const size = (this.ready[n] as T).size;
      if (n > 0 && bytes + size > maxBytes) break;
      bytes += size;
      n++;
    }
    if (n === 0) return undefined;
    const batch: Batch<T> = { items: this.ready.splice(0, n), bytes };
    this.readySize -= bytes;
    this.inFlight.add(batch);
    this.inFlightSize += bytes;
    this.inFlightItems += n;
    return batch;
  }

  /** Whether `batch` is still in flight (not landed, not taken by {@link takeAll}). */
  isInFlight(batch: Batch<T>): boolean {
    return this.inFlight.has(batch);
  }

  /**
   * The answer for `batch` is in: its items leave memory unless the caller puts them back. False
   * (and nothing changes) when the batch was already taken by {@link takeAll} or landed.
   */
  land(batch: Batch<T>): boolean {
    if (!this.inFlight.delete(batch)) return false;
    this.inFlightSize -= batch.bytes;
    this.inFlightItems -= batch.items.length;
    return true;
  }

  /** Removes the newest ready items until memory holds at most `target` bytes; returns them. */
  spillNewest(target: number): T[] {
    let cut = this.ready.length;
    let bytes = this.bytes;
    let removed = 0;
    while (cut > 0 && bytes > target) {
      const size = (this.ready[--cut] as T).size;
      bytes -= size;
      removed += size;
    }
    if (cut === this.ready.length) return [];
    this.readySize -= removed;
    return this.ready.splice(cut);
  }

  /** Removes every ready and delayed item (not those in flight); returns them, ready ones first. */
  takeQueued(): T[] {
    const items = this.delayed.length > 0 ? this.ready.concat(this.delayed) : this.ready;
    this.ready = [];
    this.delayed = [];
    this.readySize = 0;
    this.delayedSize = 0;
    return items;
  }

  /** Removes everything, in flight included (whose answers {@link land} then refuses). */
  takeAll(): T[] {
    const items = this.takeQueued();
    for (const batch of this.inFlight) for (const item of batch.items) items.push(item);
    this.inFlight.clear();
    this.inFlightSize = 0;
    this.inFlightItems = 0;
    return items;
  }

  /** What is where, for tests: copies of the ready and delayed items and of each batch in flight. */
  snapshot(): { ready: T[]; delayed: T[]; inFlight: T[][] } {
    return {
      ready: [...this.ready],
      delayed: [...this.delayed],
      inFlight: [...this.inFlight].map((batch) => [...batch.items]),
    };
  }
}
