/**
 * Issue 28 item 5, under a host zone that is not UTC (America/New_York, UTC−5 on 1 March): a time
 * without a zone means UTC for the logger's normalisation as for the command line, and years
 * before 1901 are read as given. Expected instants by hand: 2026-03-01 is day 20,513 since
 * 1970-01-01 (56 years incl. 14 leap days = 20,454, + 59 days of Jan–Feb), so 10:00 UTC is
 * 20,513 × 86,400,000 + 36,000,000 ms; 0001-01-01 is −62,135,596,800,000 ms (719,162 days before
 * 1970).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeOf } from '../../src/schema/normalize.js';
import { parseInstant } from '../../src/schema/time.js';

const TEN_UTC = 20_513 * 86_400_000 + 36_000_000;
let saved: string | undefined;

describe('time zones: zoneless is UTC everywhere', () => {
  beforeAll(() => {
    saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('the host zone really is New York here', () => {
    expect(new Date(TEN_UTC).getTimezoneOffset()).toBe(300);
  });

  it('the logger and the command line read 2026-03-01T10:00:00 as the same instant, 10:00 UTC', () => {
    expect(parseInstant('2026-03-01T10:00:00').getTime()).toBe(TEN_UTC);
    expect(timeOf('2026-03-01T10:00:00')).toBe(TEN_UTC);
    expect(timeOf('2026-03-01T10:00:00Z')).toBe(TEN_UTC);
    expect(timeOf('2026-03-01T05:00:00-05:00')).toBe(TEN_UTC);
    expect(timeOf('2026-02-30T10:00:00')).toBeUndefined();
  });

  it('a year before 1901 is that year, not 1900 + it', () => {
    expect(parseInstant('0001-01-01T00:00:00Z').getTime()).toBe(-62_135_596_800_000);
    expect(parseInstant('1850-06-01').toISOString()).toBe('1850-06-01T00:00:00.000Z');
  });
});
