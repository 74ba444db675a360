/**
 * The one window-alignment rule (src/schema/window.ts `alignWindowStart`), and proof that moving
 * the analyzer's `splitWindows` and the scheduler's `alignDown`/`planWindows` onto it changed no
 * window and hence no result id, checkpoint or lock. Every expected value below was printed by the
 * two former implementations at commit 4bd6cc4 (before the move) for the same inputs, and is
 * re-derived by hand in the comment beside it.
 */
import { describe, expect, it } from 'vitest';
import { splitWindows } from '../../src/analyzer/windows.js';
import { alignDown, planWindows } from '../../src/scheduler/windows.js';
import { resultId } from '../../src/schema/result-document.js';
import { alignWindowStart } from '../../src/schema/window.js';

const H = 3_600_000;
const iso = (ws: Array<{ start: Date; end: Date }>) =>
  ws.map((w) => [w.start.toISOString(), w.end.toISOString()]);

describe('alignWindowStart', () => {
  it('cuts at multiples of the size from the epoch, or from an anchor', () => {
    // 2026-05-07T13:45Z in weeks since the epoch: 1970-01-01 was a Thursday, so weekly windows
    // start on Thursdays; 2026-05-07 is a Thursday: 1778112000000 = Date.UTC(2026, 4, 7).
    expect(alignWindowStart(Date.parse('2026-05-07T13:45:00Z'), 7 * 24 * H)).toBe(Date.UTC(2026, 4, 7));
    expect(alignDown(Date.parse('2026-05-07T13:45:00Z'), 7 * 24 * H)).toBe(1_778_112_000_000);
    // 7 h windows anchored at 2026-04-30T22:00Z: boundaries 22:00, 05:00, 12:00 …; 00:30 is in [22:00, 05:00).
    expect(
      alignWindowStart(Date.parse('2026-05-01T00:30:00Z'), 7 * H, Date.parse('2026-04-30T22:00:00Z')),
    ).toBe(Date.parse('2026-04-30T22:00:00Z'));
    // Before the epoch, floor (not truncation toward zero): -1.5 h is in the window [-2 h, -1 h).
    expect(alignWindowStart(-1.5 * H, H)).toBe(-2 * H);
    // A time on a boundary starts its own window.
    expect(alignWindowStart(5 * H, H)).toBe(5 * H);
  });
});

describe('splitWindows and planWindows are unchanged by the move', () => {
  it('splitWindows: hourly, clipped at both ends', () => {
    // 00:30–03:10 in hours: [00:30, 01:00) clipped, two whole hours, [03:00, 03:10) clipped.
    expect(iso(splitWindows(new Date('2026-05-01T00:30:00Z'), new Date('2026-05-01T03:10:00Z'), H))).toEqual([
      ['2026-05-01T00:30:00.000Z', '2026-05-01T01:00:00.000Z'],
      ['2026-05-01T01:00:00.000Z', '2026-05-01T02:00:00.000Z'],
      ['2026-05-01T02:00:00.000Z', '2026-05-01T03:00:00.000Z'],
      ['2026-05-01T03:00:00.000Z', '2026-05-01T03:10:00.000Z'],
    ]);
  });

  it('splitWindows: 7 h windows from an anchor; weekly windows from the epoch; across the epoch', () => {
    // Anchor 2026-04-30T22:00Z + k·7 h: 05:00, 12:00, 19:00; first clipped to 00:30, last to 24:00.
    expect(
      iso(
        splitWindows(
          new Date('2026-05-01T00:30:00Z'),
          new Date('2026-05-02T00:00:00Z'),
          7 * H,
          new Date('2026-04-30T22:00:00Z'),
        ),
      ),
    ).toEqual([
      ['2026-05-01T00:30:00.000Z', '2026-05-01T05:00:00.000Z'],
      ['2026-05-01T05:00:00.000Z', '2026-05-01T12:00:00.000Z'],
      ['2026-05-01T12:00:00.000Z', '2026-05-01T19:00:00.000Z'],
      ['2026-05-01T19:00:00.000Z', '2026-05-02T00:00:00.000Z'],
    ]);
    // Weeks from the epoch start on Thursdays (2026-05-07, 2026-05-14).
    expect(
      iso(splitWindows(new Date('2026-05-01T00:00:00Z'), new Date('2026-05-15T00:00:00Z'), 7 * 24 * H)),
    ).toEqual([
      ['2026-05-01T00:00:00.000Z', '2026-05-07T00:00:00.000Z'],
      ['2026-05-07T00:00:00.000Z', '2026-05-14T00:00:00.000Z'],
      ['2026-05-14T00:00:00.000Z', '2026-05-15T00:00:00.000Z'],
    ]);
    expect(iso(splitWindows(new Date('1969-12-31T22:30:00Z'), new Date('1970-01-01T01:00:00Z'), H))).toEqual([
      ['1969-12-31T22:30:00.000Z', '1969-12-31T23:00:00.000Z'],
      ['1969-12-31T23:00:00.000Z', '1970-01-01T00:00:00.000Z'],
      ['1970-01-01T00:00:00.000Z', '1970-01-01T01:00:00.000Z'],
    ]);
  });

  it('planWindows: whole epoch-aligned windows after a checkpoint, capped by maxCatchUp', () => {
    // now 05:20, delay 15 min → latest due end alignDown(05:05) = 05:00; maxCatchUp 3 → from 02:00
    // (the checkpoint 00:00 is older: two windows skipped).
    const plan = planWindows({
      now: Date.parse('2026-05-01T05:20:00Z'),
      windowMs: H,
      delayMs: 15 * 60_000,
      maxCatchUp: 3,
      checkpoint: Date.parse('2026-05-01T00:00:00Z'),
    });
    expect(iso(plan.windows)).toEqual([
      ['2026-05-01T02:00:00.000Z', '2026-05-01T03:00:00.000Z'],
      ['2026-05-01T03:00:00.000Z', '2026-05-01T04:00:00.000Z'],
      ['2026-05-01T04:00:00.000Z', '2026-05-01T05:00:00.000Z'],
    ]);
    expect(plan.skipped).toBe(2);
    // A start of 23:59 aligns down to 23:00; due end 05:00, maxCatchUp 2 → from 03:00; 23:00–03:00
    // is 4 skipped windows. 1777590000000 = Date.UTC(2026, 3, 30, 23), 1777604400000 = 03:00 next day.
    const started = planWindows({
      now: Date.parse('2026-05-01T05:20:00Z'),
      windowMs: H,
      delayMs: 0,
      maxCatchUp: 2,
      start: Date.parse('2026-04-30T23:59:00Z'),
    });
    expect(started).toEqual({
      windows: [
        { start: new Date('2026-05-01T03:00:00.000Z'), end: new Date('2026-05-01T04:00:00.000Z') },
        { start: new Date('2026-05-01T04:00:00.000Z'), end: new Date('2026-05-01T05:00:00.000Z') },
      ],
      skipped: 4,
      skippedFrom: 1_777_590_000_000,
      from: 1_777_604_400_000,
    });
  });

  it('the result id of an analyzer window equals the one of the scheduler window it matches', () => {
    // The id is SHA-256 over [kind, model, version, feature, start, end] (docs/DESIGN.md); this one
    // was printed at 4bd6cc4 for the 00:00–01:00 window, which both cutters produce for that hour.
    const [analyzer] = splitWindows(new Date('2026-05-01T00:00:00Z'), new Date('2026-05-01T01:00:00Z'), H);
    const scheduler = planWindows({
      now: Date.parse('2026-05-01T01:00:00Z'),
      windowMs: H,
      delayMs: 0,
      maxCatchUp: 1,
    }).windows[0];
    for (const w of [analyzer, scheduler]) {
      expect(resultId('drift', ['fraud', '3', 'amount', w!.start.toISOString(), w!.end.toISOString()])).toBe(
        '912389666d5f311cebae2685ab55b40867b2fe5b',
      );
    }
  });
});
