/**
 * Durability acknowledgement for a group of items (one HTTP request of `mlmon collect`): resolves
 * when every item of the group has reached a durable state — indexed (or already there),
 * dead-lettered, or written to the spool and fsynced — or was dropped (spool full or unusable:
 * counted in `dropped`, so the caller can refuse to acknowledge).
 *
 * Kept apart from shipper.ts on purpose: the shipper only calls `settle` where an item reaches a
 * final state (its `finish`) and where it is spilled to disk, so the hook stays a few lines there.
 */
export interface Durability {
  indexed: number;
  deadLettered: number;
  spooled: number;
  dropped: number;
}

export type Settlement = keyof Durability;

export class Ack {
  readonly result: Durability = { indexed: 0, deadLettered: 0, spooled: 0, dropped: 0 };
  readonly done: Promise<Durability>;
  private pending = 0;
  private sealed = false;
  private resolve!: (result: Durability) => void;

  constructor() {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  /** One more item belongs to this group. */
  add(): void {
    this.pending++;
  }

  /** One item of the group reached a durable (or dropped) state. */
  settle(how: Settlement): void {
    this.result[how]++;
    if (--this.pending === 0 && this.sealed) this.resolve(this.result);
  }

  /** No more items will be added: resolves once those added so far are settled. */
  seal(): void {
    this.sealed = true;
    if (this.pending === 0) this.resolve(this.result);
  }
}
