/**
 * The shipper's queue (src/logger/queue.ts) owns its byte counts: after any sequence of moves
 * (push, take into flight, land and put back by requeue / delay / push, promote, spill, take all),
 * the counts it reports equal the sums recomputed from the items it holds, and every item pushed
 * is in exactly one place (ready, delayed, in flight) or was handed back to the caller once.
 * Property-based with a fixed seed (fast-check), so a failure replays.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ItemQueue, type Batch } from '../../src/logger/queue.js';

interface TestItem {
  readonly id: number;
  readonly size: number;
  notBefore: number;
}

type Op =
  | { op: 'push'; size: number }
  | { op: 'take'; maxItems: number; maxBytes: number }
  | { op: 'land'; pick: number; fate: 'leave' | 'requeue' | 'delay' | 'replace' | 'mixed'; at: number }
  | { op: 'promote'; now: number }
  | { op: 'dueAll' }
  | { op: 'spill'; target: number }
  | { op: 'takeQueued' }
  | { op: 'takeAll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('push' as const), size: fc.integer({ min: 1, max: 500 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      maxItems: fc.integer({ min: 1, max: 6 }),
      maxBytes: fc.integer({ min: 1, max: 1500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('land' as const),
      pick: fc.nat(),
      fate: fc.constantFrom(
        'leave' as const,
        'requeue' as const,
        'delay' as const,
        'replace' as const,
        'mixed' as const,
      ),
      at: fc.integer({ min: 0, max: 100 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('promote' as const), now: fc.integer({ min: 0, max: 100 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dueAll' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('spill' as const), target: fc.integer({ min: 0, max: 3000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('takeQueued' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('takeAll' as const) }) },
);

const sum = (items: readonly TestItem[]): number => items.reduce((total, item) => total + item.size, 0);

/** Runs `ops`; after each, the queue's counts against a recomputation from the items it holds. */
function run(ops: Op[]): void {
  const queue = new ItemQueue<TestItem>();
  let nextId = 0;
  const batches: Array<Batch<TestItem>> = [];
  /** Items out of the queue (landed and let go, spilled, taken): each id once. */
  const out = new Set<number>();
  const leave = (item: TestItem): void => {
    expect(out.has(item.id)).toBe(false);
    out.add(item.id);
  };
  const fresh = (size: number): TestItem => ({ id: nextId++, size, notBefore: 0 });

  for (const step of ops) {
    switch (step.op) {
      case 'push':
        queue.push(fresh(step.size));
        break;
      case 'take': {
        const readyBefore = queue.snapshot().ready;
        const batch = queue.takeBatch(step.maxItems, step.maxBytes);
        if (!batch) {
          expect(readyBefore).toHaveLength(0);
          break;
        }
        // The oldest ready items, within the caps (one item always goes, however large).
        expect(batch.items).toEqual(readyBefore.slice(0, batch.items.length));
        expect(batch.items.length).toBeLessThanOrEqual(step.maxItems);
        if (batch.items.length > 1) expect(batch.bytes).toBeLessThanOrEqual(step.maxBytes);
        expect(batch.bytes).toBe(sum(batch.items));
        batches.push(batch);
        break;
      }
      case 'land': {
        if (batches.length === 0) break;
        const batch = batches.splice(step.pick % batches.length, 1)[0] as Batch<TestItem>;
        const wasInFlight = queue.isInFlight(batch);
        expect(queue.land(batch)).toBe(wasInFlight);
        expect(queue.land(batch)).toBe(false); // only once
        if (!wasInFlight) break; // taken by takeAll meanwhile: already out
        if (step.fate === 'requeue') queue.requeue(batch.items);
        else
          batch.items.forEach((item, i) => {
            const fate = step.fate === 'mixed' ? (['leave', 'delay', 'replace'] as const)[i % 3] : step.fate;
            if (fate === 'leave') leave(item);
            else if (fate === 'delay') {
              item.notBefore = step.at;
              queue.delay(item);
            } else {
              // A dead letter replaces its item: a new item with another size.
              leave(item);
              queue.push(fresh(item.size * 2 + 1));
            }
          });
        break;
      }
      case 'promote': {
        const before = queue.snapshot();
        queue.promoteDue(step.now);
        const after = queue.snapshot();
        const due = before.delayed.filter((item) => item.notBefore <= step.now);
        expect(after.ready).toEqual(due.concat(before.ready));
        expect(after.delayed).toEqual(before.delayed.filter((item) => item.notBefore > step.now));
        break;
      }
      case 'dueAll':
        queue.dueAllNow();
        expect(queue.nextDue() ?? 0).toBe(0);
        break;
      case 'spill': {
        const readyBefore = queue.snapshot().ready;
        const spilled = queue.spillNewest(step.target);
        // The newest ready items, and only as many as needed to get down to the target.
        expect(spilled).toEqual(readyBefore.slice(readyBefore.length - spilled.length));
        if (queue.readyCount > 0) expect(queue.bytes).toBeLessThanOrEqual(step.target);
        if (spilled.length > 0)
          expect(queue.bytes + (spilled[0] as TestItem).size).toBeGreaterThan(step.target);
        spilled.forEach(leave);
        break;
      }
      case 'takeQueued':
        queue.takeQueued().forEach(leave);
        break;
      case 'takeAll':
        queue.takeAll().forEach(leave);
        break;
    }
    // The counts against the items, recomputed.
    const held = queue.snapshot();
    const inFlight = held.inFlight.flat();
    expect(queue.readyBytes).toBe(sum(held.ready));
    expect(queue.bytes).toBe(sum(held.ready) + sum(held.delayed) + sum(inFlight));
    expect(queue.readyCount).toBe(held.ready.length);
    expect(queue.delayedCount).toBe(held.delayed.length);
    expect(queue.inFlightBatches).toBe(held.inFlight.length);
    expect(queue.count).toBe(held.ready.length + held.delayed.length + inFlight.length);
    const next =
      held.delayed.length > 0 ? Math.min(...held.delayed.map((item) => item.notBefore)) : undefined;
    expect(queue.nextDue()).toBe(next);
    // Every item ever pushed is in exactly one place.
    const ids = [...held.ready, ...held.delayed, ...inFlight].map((item) => item.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(out.has(id)).toBe(false);
    expect(ids.length + out.size).toBe(nextId);
  }
}

describe('ItemQueue', () => {
  it('keeps its byte counts exact across push, take, land, requeue, delay, promote, spill and take-all (seeded)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        run(ops);
      }),
      { seed: 20261205, numRuns: 400 },
    );
  });

  it('a batch taken by takeAll (a signal spilled it) is refused when its answer lands', () => {
    const queue = new ItemQueue<TestItem>();
    queue.push({ id: 1, size: 100, notBefore: 0 });
    queue.push({ id: 2, size: 50, notBefore: 0 });
    const batch = queue.takeBatch(10, 1000) as Batch<TestItem>;
    queue.push({ id: 3, size: 7, notBefore: 0 });
    expect(queue.bytes).toBe(157);
    expect(queue.readyBytes).toBe(7);
    // Ready first, then what was in flight (the order the shipper spills in).
    expect(queue.takeAll().map((item) => item.id)).toEqual([3, 1, 2]);
    expect(queue.land(batch)).toBe(false);
    expect([queue.bytes, queue.readyBytes, queue.count]).toEqual([0, 0, 0]);
  });
});
