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
