/**
 * The time window every job reads: half-open [start, end) on `@timestamp`, so that consecutive
 * windows tile time without overlap.
 */

export interface TimeWindow {
  start: Date;
  end: Date;
}

/** Throws unless the window is two valid dates with start < end. */
export function checkWindow(window: TimeWindow): void {
  const start = window.start.getTime();
  const end = window.end.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError('window: invalid date');
  if (!(start < end)) throw new RangeError('window: start must be before end');
}

/**
 * The one alignment rule of mlmon: the start of the window of `windowMs` that contains `t`, windows
 * being cut at multiples of their size counted from `anchorMs` (the Unix epoch, UTC, by default).
 * Every replica and every restart cuts time at the same boundaries, which is what makes a window an
 * identity: result ids (`resultId` over window start and end), checkpoints and locks all refer to
 * windows cut here. The analyzer (`splitWindows`) and the scheduler (`planWindows`) both use it.
 */
export function alignWindowStart(t: number, windowMs: number, anchorMs = 0): number {
  return anchorMs + Math.floor((t - anchorMs) / windowMs) * windowMs;
}
