/**
 * Time-ordered prediction ids: UUID version 7 (RFC 9562).
 *
 * Why not a package: `crypto.randomUUID()` only makes v4, and the v7 layout is a 48-bit Unix
 * millisecond timestamp followed by version, variant and random bits — a few lines. Writing it here
 * keeps the logger dependency-free on the hot path and lets us draw randomness from a pooled
 * buffer (one `randomFillSync` per 256 ids) instead of a syscall per id.
 *
 * Layout (RFC 9562 §5.7), with the 12-bit `rand_a` used as a monotonic counter (§6.2, method 1) so
 * that ids made in the same millisecond by this process still sort in creation order:
 *
 *   unix_ts_ms (48) | ver=0111 (4) | counter (12) | var=10 (2) | random (62)
 */
import { randomFillSync } from 'node:crypto';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

const POOL_IDS = 256;
const BYTES_PER_ID = 9;
const pool = Buffer.allocUnsafe(POOL_IDS * BYTES_PER_ID);
let poolOffset = pool.length;

let lastMs = -1;
let counter = 0;

function h(byte: number): string {
  return HEX[byte & 0xff] as string;
}

/** A new UUIDv7 string, e.g. `0190b6c2-3f4a-7a1c-9d2e-5f6a7b8c9d0e`. Never throws. */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + BYTES_PER_ID > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const o = poolOffset;
  poolOffset += BYTES_PER_ID;
  let ms = now;
  if (ms > lastMs) {
    lastMs = ms;
    // Seed the counter randomly but leave headroom (top bit clear) for ids in the same millisecond.
    counter = ((pool[o + 8] as number) << 3) & 0x7ff;
  } else {
    // Same (or, after a clock step back, earlier) millisecond: keep increasing.
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      // Counter overflow: borrow the next millisecond, as RFC 9562 allows.
      lastMs++;
      ms = lastMs;
      counter = 0;
    }
  }
  // 48-bit timestamp: high 16 bits and low 32 bits (bitwise ops are 32-bit in JS).
  const hi = Math.floor(ms / 0x100000000);
  const lo = ms >>> 0;
  return (
    h(hi >>> 8) +
    h(hi) +
    h(lo >>> 24) +
    h(lo >>> 16) +
    '-' +
    h(lo >>> 8) +
    h(lo) +
    '-' +
    h(0x70 | (counter >>> 8)) +
    h(counter) +
    '-' +
    h(0x80 | ((pool[o + 1] as number) & 0x3f)) +
    h(pool[o + 2] as number) +
    '-' +
    h(pool[o + 3] as number) +
    h(pool[o + 4] as number) +
    h(pool[o + 5] as number) +
    h(pool[o + 6] as number) +
    h(pool[o + 7] as number) +
    h(pool[o] as number)
  );
}

/** The millisecond timestamp inside a UUIDv7 (for tests and tooling). */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
