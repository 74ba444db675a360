/**
 * The one grammar of absolute times in mlmon: `--from`/`--to` (and every other time flag) and the
 * configuration's `start` alike.
 *
 * Why not `new Date(text)` alone: it rolls impossible dates over instead of rejecting them
 * (`2026-02-30T00:00:00Z` becomes March 2), and it accepts "1" or "May". Here the text must be ISO
 * 8601 and every component must survive the round trip through `Date.UTC` unchanged.
 */

export class TimeFormatError extends Error {
  override name = 'TimeFormatError';
  /** `syntax`: not ISO 8601 at all; `impossible`: ISO 8601 naming a date or time that does not exist. */
  constructor(
    message: string,
    readonly kind: 'syntax' | 'impossible' = 'impossible',
  ) {
    super(message);
  }
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

// Date, optional time (minutes required, seconds and fraction optional), optional zone (Z or ±hh[:]mm).
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * `2026-03-01`, `2026-03-01T12:00Z`, `2026-03-01T12:00:00.5+02:00` → the instant. A time without
 * a zone is UTC (mlmon's windows are cut in UTC), a bare date is its UTC midnight. Throws a
 * `TimeFormatError` whose message names the text and what is wrong with it.
 */
export function parseInstant(text: string): Date {
  const t = text.trim();
  const m = ISO.exec(t);
  if (!m)
    throw new TimeFormatError(
      `"${text}" is not a time: use ISO 8601, e.g. 2026-05-01T00:00:00Z or 2026-05-01`,
      'syntax',
    );
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  if (month < 1 || month > 12) throw new TimeFormatError(`"${text}" is not a real date: no month ${m[2]}`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days)
    throw new TimeFormatError(`"${text}" is not a real date: ${MONTHS[month - 1]} ${year} has ${days} days`);
  if (hour > 23 || minute > 59 || second > 59)
    throw new TimeFormatError(`"${text}" is not a real time of day (hours 00-23, minutes and seconds 00-59)`);
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) as RegExpExecArray;
    const [zh, zm] = [Number(z[2]), Number(z[3])];
    if (zh > 23 || zm > 59) throw new TimeFormatError(`"${text}" has an impossible UTC offset ${zone}`);
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  // Not Date.UTC, which maps years 0-99 to 1900-1999 (Date.UTC(1, 0, 1) is 1901): setUTCFullYear
  // takes the year as given.
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  at.setUTCHours(hour, minute, second, millis);
  const utc = at.getTime();
  // Round trip: the components must come back unchanged.
  const back = new Date(utc);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day)
    throw new TimeFormatError(`"${text}" is not a representable date`);
  return new Date(utc - offsetMinutes * 60_000);
}

/**
 * A numeric timestamp whose magnitude is below this is epoch seconds, not milliseconds. As
 * milliseconds, 1e11 is 1973-03-03T09:46:40Z: no prediction a monitor receives is stamped in
 * 1970-1973, while Python's `time.time()` (1.77e9 in 2026) is below the cut until the year 5138.
 * Read as seconds, not refused: refusing would replace a true time by the time of the call, and
 * the value is unambiguous; the event says so in `mlmon.quality.epoch_seconds`.
 */
export const EPOCH_SECONDS_BELOW = 1e11;

/** Elasticsearch `date` range we accept: years 0001–9999 (strict_date_optional_time). */
const MIN_TIME = parseInstant('0001-01-01T00:00:00Z').getTime();
const MAX_TIME = parseInstant('9999-12-31T23:59:59.999Z').getTime();
const ISO_DATE_START = /^\s*\d{4}-\d{2}-\d{2}/;

/** An instant read from caller input: epoch milliseconds, and whether a number was read as seconds. */
export interface TimeReading {
  ms: number;
  seconds: boolean;
}

/**
 * The one reading of an event's time (logger, collector, winston bridge): a Date; a number (epoch
 * milliseconds, or seconds below {@link EPOCH_SECONDS_BELOW}); an ISO 8601 string read by
 * {@link parseInstant} (zoneless is UTC, impossible dates refused); other strings Date.parse reads
 * (RFC 2822, …). Undefined when invalid or outside years 0001–9999. Never throws.
 */
export function readTime(v: unknown): TimeReading | undefined {
  let t: number;
  let seconds = false;
  if (v instanceof Date) t = v.getTime();
  else if (typeof v === 'number') {
    seconds = Math.abs(v) < EPOCH_SECONDS_BELOW;
    // Rounded: 1767225600.123 × 1000 is 1767225600122.9998 in binary floating point.
    t = seconds ? Math.round(v * 1000) : v;
  } else if (typeof v === 'string' && v.length <= 64) {
    if (ISO_DATE_START.test(v)) {
      try {
        t = parseInstant(v).getTime();
      } catch (error) {
        if (!(error instanceof TimeFormatError) || error.kind !== 'syntax') return undefined;
        t = Date.parse(v);
      }
    } else t = Date.parse(v);
  } else return undefined;
  if (!Number.isFinite(t) || t < MIN_TIME || t > MAX_TIME) return undefined;
  return { ms: Math.trunc(t), seconds };
}
