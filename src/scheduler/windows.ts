/**
 * Window arithmetic, pure. Windows are aligned to multiples of their size since the Unix epoch
 * (UTC), so every replica, and every restart, cuts time at the same boundaries: that is what makes
 * a window an identity that locks and checkpoints can refer to.
 */

import type { TimeWindow } from '../schema/window.js';

/** Start of the window that contains `t`. */
export function alignDown(t: number, windowMs: number): number {
  return Math.floor(t / windowMs) * windowMs;
}

/** End of the latest window that is due at `now`: ended, and its `delay` for late data has passed. */
export function latestDueEnd(now: number, windowMs: number, delayMs: number): number {
  return alignDown(now - delayMs, windowMs);
}

export interface WindowPlan {
  /** Windows to look at, oldest first (some may already be done). */
  windows: TimeWindow[];
  /** Windows between the checkpoint and the oldest planned one, skipped because of `maxCatchUp`. */
  skipped: number;
  /** Where the plan starts (the checkpoint after skipping). */
  from: number;
}

/**
 * The windows a pass should consider, oldest first.
 *
 * - `checkpoint`: end of the latest window up to which everything is done (undefined at first run);
 * - `start`: earliest window wanted when there is no checkpoint (default: `maxCatchUp` windows back);
 * - at most `maxCatchUp` windows: after a long downtime the oldest ones are skipped, not queued
 *   forever, and the caller logs how many.
 */
export function planWindows(input: {
  now: number;
  windowMs: number;
  delayMs: number;
  maxCatchUp: number;
  checkpoint?: number;
  start?: number;
}): WindowPlan {
  const { now, windowMs, delayMs, maxCatchUp } = input;
  const lastEnd = latestDueEnd(now, windowMs, delayMs);
  const earliestAllowed = lastEnd - maxCatchUp * windowMs;
  const wanted =
    input.checkpoint !== undefined
      ? alignDown(input.checkpoint, windowMs)
      : input.start !== undefined
        ? alignDown(input.start, windowMs)
        : earliestAllowed;
  const from = Math.max(wanted, earliestAllowed);
  const skipped = input.checkpoint !== undefined && wanted < from ? (from - wanted) / windowMs : 0;
  const windows: TimeWindow[] = [];
  for (let s = from; s + windowMs <= lastEnd; s += windowMs)
    windows.push({ start: new Date(s), end: new Date(s + windowMs) });
  return { windows, skipped, from };
}
