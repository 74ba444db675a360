/**
 * Window arithmetic, pure. Windows are aligned to multiples of their size since the Unix epoch
 * (UTC), by the one rule in src/schema/window.ts (`alignWindowStart`), so every replica, and every
 * restart, cuts time at the same boundaries: that is what makes a window an identity that locks
 * and checkpoints can refer to.
 */

import { alignWindowStart, type TimeWindow } from '../schema/window.js';

/** Start of the window that contains `t`, counted from the epoch (`alignWindowStart` unanchored). */
export function alignDown(t: number, windowMs: number): number {
  return alignWindowStart(t, windowMs);
}

/** End of the latest window that is due at `now`: ended, and its `delay` for late data has passed. */
export function latestDueEnd(now: number, windowMs: number, delayMs: number): number {
  return alignDown(now - delayMs, windowMs);
}

export interface WindowPlan {
  /** Windows to look at, oldest first (some may already be done). */
  windows: TimeWindow[];
  /**
   * Windows before the oldest planned one that are wanted (after the checkpoint, or after `start`
   * when there is no checkpoint) but skipped because of `maxCatchUp`.
   */
  skipped: number;
  /** Start of the first skipped window (when `skipped` > 0); the skipped range ends at `from`. */
  skippedFrom?: number;
  /** Where the plan starts (the checkpoint after skipping). */
  from: number;
}

/**
 * The windows a pass should consider, oldest first.
 *
 * - `checkpoint`: end of the latest window up to which everything is done (undefined at first run);
 * - `start`: earliest window wanted when there is no checkpoint (default: `maxCatchUp` windows back);
 * - at most `maxCatchUp` windows: after a long downtime, or with a `start` further back than that,
 *   the oldest ones are skipped, not queued forever, and the caller says which;
 * - `backfill`: no `maxCatchUp` bound, and from `start` even when a checkpoint exists (windows done
 *   already are recognised by their state and not redone): the explicit way to analyze them all.
 */
export function planWindows(input: {
  now: number;
  windowMs: number;
  delayMs: number;
  maxCatchUp: number;
  checkpoint?: number;
  start?: number;
  backfill?: boolean;
}): WindowPlan {
  const { now, windowMs, delayMs, maxCatchUp } = input;
  const lastEnd = latestDueEnd(now, windowMs, delayMs);
  const earliestAllowed = lastEnd - maxCatchUp * windowMs;
  const checkpoint = input.checkpoint !== undefined ? alignDown(input.checkpoint, windowMs) : undefined;
  const start = input.start !== undefined ? alignDown(input.start, windowMs) : undefined;
  let from: number;
  let skipped = 0;
  let skippedFrom: number | undefined;
  if (input.backfill) {
    from = Math.min(start ?? Infinity, checkpoint ?? Infinity);
    if (!Number.isFinite(from)) from = earliestAllowed;
  } else {
    const wanted = checkpoint ?? start ?? earliestAllowed;
    from = Math.max(wanted, earliestAllowed);
    if (wanted < from) {
      skipped = (from - wanted) / windowMs;
      skippedFrom = wanted;
    }
  }
  const windows: TimeWindow[] = [];
  for (let s = from; s + windowMs <= lastEnd; s += windowMs)
    windows.push({ start: new Date(s), end: new Date(s + windowMs) });
  return { windows, skipped, ...(skippedFrom !== undefined ? { skippedFrom } : {}), from };
}
