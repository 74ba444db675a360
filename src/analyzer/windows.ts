/**
 * Analysis windows. A range [from, to) is cut at multiples of the window size counted from an
 * anchor (the Unix epoch by default; the rule is `alignWindowStart` in src/schema/window.ts, shared
 * with the scheduler), so that scheduled runs and re-runs produce the same windows and hence the
 * same result ids; the first and last windows are clipped to the range. Durations are parsed by
 * src/schema/duration.ts.
 */
import { DurationError, parseDurationOrThrow } from '../schema/duration.js';
import { alignWindowStart, type TimeWindow } from '../schema/window.js';
import { parseInstant, TimeFormatError } from '../schema/time.js';

export class WindowError extends Error {
  override name = 'WindowError';
}

/** An ISO-8601 time (the grammar of src/schema/time.ts), or `now`, or `now-<duration>`. */
export function parseTime(text: string, now: Date = new Date()): Date {
  const t = text.trim();
  const rel = /^now(?:-(.+))?$/.exec(t);
  try {
    if (rel) return new Date(now.getTime() - (rel[1] ? parseDurationOrThrow(rel[1]) : 0));
    return parseInstant(t);
  } catch (error) {
    if (error instanceof DurationError) throw new WindowError(error.message);
    if (error instanceof TimeFormatError)
      throw new WindowError(error.kind === 'syntax' ? `${error.message}, now or now-1d` : error.message);
    throw error;
  }
}

/** Largest number of windows one call may produce (a typo like --window 1s over a year). */
export const MAX_WINDOWS = 10_000;

export function splitWindows(from: Date, to: Date, sizeMs: number, anchor: Date = new Date(0)): TimeWindow[] {
  const f = from.getTime();
  const t = to.getTime();
  if (!(t > f))
    throw new WindowError(`--to (${to.toISOString()}) must be after --from (${from.toISOString()})`);
  if (!(sizeMs > 0)) throw new WindowError('window size must be positive');
  const firstBoundary = alignWindowStart(f, sizeMs, anchor.getTime());
  const count = Math.ceil((t - firstBoundary) / sizeMs);
  if (count > MAX_WINDOWS) {
    throw new WindowError(
      `${count} windows of ${sizeMs} ms between --from and --to; the limit is ${MAX_WINDOWS}`,
    );
  }
  const out: TimeWindow[] = [];
  for (let s = firstBoundary; s < t; s += sizeMs) {
    out.push({ start: new Date(Math.max(s, f)), end: new Date(Math.min(s + sizeMs, t)) });
  }
  return out;
}

/**
 * [from, to) widened to whole aligned windows, and whether that changed it. One result per aligned
 * window (issue 28): a clipped first or last window would be written under another id beside the
 * scheduler's full one, and dashboards would count both. Widened, a window that is not over yet
 * (`--to now`) is written under the scheduler's id and replaced when the scheduler runs it.
 */
export function wholeWindows(
  from: Date,
  to: Date,
  sizeMs: number,
  anchor: Date = new Date(0),
): { from: Date; to: Date; widened: boolean } {
  const start = alignWindowStart(from.getTime(), sizeMs, anchor.getTime());
  const lastStart = alignWindowStart(to.getTime(), sizeMs, anchor.getTime());
  const end = lastStart === to.getTime() ? lastStart : lastStart + sizeMs;
  return {
    from: new Date(start),
    to: new Date(end),
    widened: start !== from.getTime() || end !== to.getTime(),
  };
}
