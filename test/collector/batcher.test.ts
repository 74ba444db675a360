import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../src/collector/batcher.js';

/** A `run` whose calls stay open until released, recording the batches it got. */
function gated() {
  const batches: number[][] = [];
  const releases: Array<() => void> = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve) => releases.push(() => resolve(items.map((i) => i * 10))));
  };
  return { batches, releases, run };
}

// Two turns of the event loop: the answer's promise settles, then the next batch leaves.
const turn = async () => {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
};

describe('MicroBatcher', () => {
  it('sends the items of one turn together, gathers the rest while maxInFlight calls are out, and answers each its own result', async () => {
    const g = gated();
    const batcher = new MicroBatcher(g.run, { maxItems: 3, maxInFlight: 1 });
    const first = [1, 2].map((i) => batcher.add(i));
    await turn();
    // Added while the first call is out: they wait, and leave in batches of at most 3.
    const later = [3, 4, 5, 6].map((i) => batcher.add(i));
    await turn();
    expect(g.batches).toEqual([[1, 2]]);
    g.releases[0]?.();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await turn();
    expect(g.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    g.releases[1]?.();
    await turn();
    expect(g.batches).toEqual([[1, 2], [3, 4, 5], [6]]);
    g.releases[2]?.();
    expect(await Promise.all(later)).toEqual([30, 40, 50, 60]);
  });

  it('rejects every item of a batch whose call fails, and carries on with the next', async () => {
    let calls = 0;
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        if (calls++ === 0) throw new Error('cluster busy');
        return items;
      },
      { maxItems: 10, maxInFlight: 2 },
    );
    const failed = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await batcher.add(3)).toBe(3);
  });

  it('bounds a batch by the weight of its items too, and sends an item over the bound alone', async () => {
    const g = gated();
    // Items weigh their own value: with maxBytes 10, [4, 5] (9) fit, 4 + 5 + 3 (12) does not.
    const batcher = new MicroBatcher(g.run, {
      maxItems: 100,
      maxInFlight: 1,
      maxBytes: 10,
      weight: (i) => i,
    });
    const all = [4, 5, 3, 25, 2, 8, 1].map((i) => batcher.add(i));
    for (let call = 0; call < 5; call++) {
      await turn();
      g.releases[call]?.();
    }
    // 25 is over the bound on its own: it goes alone rather than never; 2 + 8 is exactly 10.
    expect(g.batches).toEqual([[4, 5], [3], [25], [2, 8], [1]]);
    expect(await Promise.all(all)).toEqual([40, 50, 30, 250, 20, 80, 10]);
  });
});
