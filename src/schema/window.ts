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
