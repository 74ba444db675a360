/**
 * The bound on bulk requests after one was refused as a whole (src/logger/batch-limit.ts), driven
 * as the shipper drives it: take the oldest documents up to the bound, send, and on a refusal put
 * them back in front. The "server" here is a rule over the documents (a size limit, or one document
 * it refuses), the same rule a real proxy applies in test/logger/request-too-large.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BatchLimit } from '../../src/logger/batch-limit.js';

describe('BatchLimit', () => {
  it('a refused request of n documents and b bytes: at most n / 2 and b / 2 next, never below 1', () => {
    const limit = new BatchLimit(10_000, 2_097_152);
    expect(limit.narrowed).toBe(false);
    limit.refused(500, 200_000);
    expect([limit.items, limit.bytes, limit.trial, limit.narrowed]).toEqual([250, 100_000, true, true]);
    limit.refused(3, 1);
    expect([limit.items, limit.bytes]).toEqual([1, 1]);
  });

  it('grows back only after the refused documents passed at half size, then doubles per pass to the configured bound', () => {
    const limit = new BatchLimit(8, 800);
    limit.refused(8, 800);
    expect([limit.items, limit.bytes]).toEqual([4, 400]);
    limit.passed(4); // the first half: the second half is still owed
    expect([limit.items, limit.bytes, limit.trial]).toEqual([4, 400, false]);
    limit.passed(4);
    // Back to 8 / 800 (the configured bound), tried alone first since 8 was refused before.
    expect([limit.items, limit.bytes, limit.trial, limit.narrowed]).toEqual([8, 800, true, false]);
    limit.passed(8);
    expect(limit.trial).toBe(false);
  });

  it('one document refused among 1,024: isolated in log2(1024) = 10 refused requests, then dead-lettered; back to full size after', () => {
    const n = 1024;
    for (const bad of [0, 1, 511, 512, 700, 1023]) {
      const limit = new BatchLimit(n, n);
      // 1,024 documents of 1 byte, and 1,024 newer ones behind them.
      let queue = Array.from({ length: 2 * n }, (_, i) => i);
      let refused = 0;
      let passed = 0;
      let deadLettered: number | undefined;
      while (queue.length > 0 && passed + refused < 1000) {
        const batch = queue.slice(0, Math.min(limit.items, limit.bytes));
        queue = queue.slice(batch.length);
        if (!batch.includes(bad)) {
          passed++;
          limit.passed(batch.length);
        } else if (batch.length === 1) {
          refused++;
          deadLettered = batch[0];
        } else {
          refused++;
          limit.refused(batch.length, batch.length);
          queue = batch.concat(queue);
        }
      }
      expect(deadLettered).toBe(bad);
      // Requests of 1,024, 512, …, 2 documents (10) and the document alone (1).
      expect(refused).toBe(11);
      // Every one of the 2,048 documents but the bad one went through, in few requests: the half
      // beside each refused one (10 at most), then bounds of 1, 2, 4, … back to 1,024.
      expect(queue).toEqual([]);
      expect(passed).toBeLessThanOrEqual(10 + 12);
      expect(limit.items).toBe(n);
    }
  });

  it('a size limit: requests of 1-byte documents against a 100-byte limit pass at 64 after 5 refusals', () => {
    const limit = new BatchLimit(10_000, 2_048);
    let size = 2_048;
    let refusals = 0;
    while (size > 100) {
      refusals++;
      limit.refused(size, size);
      size = Math.min(limit.items, limit.bytes);
    }
    // 2,048 → 1,024 → 512 → 256 → 128 → 64: log2(2048 / 100) rounded up.
    expect([refusals, size]).toEqual([5, 64]);
  });
});
