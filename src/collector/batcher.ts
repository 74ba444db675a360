/**
 * A micro-batcher: gathers the items that concurrent requests hand it into one call of `run`
 * (one `_bulk`, one `_mget`), so that N KServe halves arriving together cost one round trip each
 * step instead of N. No wait is added when it is idle: a batch leaves on the next turn of the
 * event loop; while `maxInFlight` batches are out, new items gather and leave together as soon as
 * one returns (the batch size follows the load, like Nagle's algorithm).
 *
 * A batch is bounded by its items and, given a `weight`, by the bytes they hold: a `_bulk` of 500
 * large KServe halves would be one body of hundreds of MB that no memory budget counts (issue 24).
 *
 * Written here (about 70 lines) rather than taken from npm: dataloader (2.2.3) and
 * batched-function batch by tick or by a fixed window with no bound on the calls in flight, and
 * that bound is what lets a batch grow with the load instead of sending many small ones.
 */

export interface BatcherOptions<I> {
  /** Items in one call of `run` at most. */
  maxItems: number;
  /**
   * Bytes of items in one call of `run` at most, as `weight` counts them; an item heavier than
   * that goes alone (it cannot be split, and refusing it is the caller's memory budget's job).
   */
  maxBytes?: number;
  /** The bytes an item holds (read once, when it is added); without it only `maxItems` bounds. */
  weight?: (item: I) => number;
  /** Calls of `run` at once at most; items beyond them wait for one to return. */
  maxInFlight: number;
}

interface Waiting<I, O> {
  item: I;
  weight: number;
  resolve: (out: O) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<I, O> {
  private queue: Array<Waiting<I, O>> = [];
  private inFlight = 0;
  private scheduled = false;

  /**
   * @param run answers the items of one batch in their order (one result each); when it throws,
   *   every item of the batch is rejected with that error.
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions<I>,
  ) {}

  /** Items waiting for a batch or in one. */
  get size(): number {
    return this.queue.length;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, weight: this.options.weight?.(item) ?? 0, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    // The items of every request parsed in this turn of the event loop go together.
    setImmediate(this.flush);
  }

  private readonly flush = () => {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.fits());
      this.inFlight++;
      void this.send(batch);
    }
  };

  /** How many of the first items waiting make one batch: at least one, in their order. */
  private fits(): number {
    const { maxItems, maxBytes = Infinity } = this.options;
    let count = 0;
    let bytes = 0;
    for (const { weight } of this.queue) {
      if (count === maxItems || (count > 0 && bytes + weight > maxBytes)) break;
      bytes += weight;
      count++;
    }
    return count;
  }

  private async send(batch: Array<Waiting<I, O>>): Promise<void> {
    try {
      const out = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(out[i] as O));
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
