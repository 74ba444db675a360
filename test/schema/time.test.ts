/**
 * The one time grammar (src/schema/time.ts). Expected instants are written as epoch milliseconds
 * computed by hand from the calendar (days since 1970-01-01 × 86,400,000), so they do not go
 * through the parser under test.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/schema/config.js';
import { parseInstant, TimeFormatError } from '../../src/schema/time.js';

const DAY = 86_400_000;
// 2024-02-29 is day 19,782 since the epoch (54 years incl. 13 leap days = 19,723 days to 2024-01-01,
// then 31 + 28 days of January and February before the 29th).
const LEAP_DAY_2024 = 19_782 * DAY;

describe('parseInstant', () => {
  it('accepts real dates, with or without time and zone', () => {
    expect(parseInstant('2024-02-29').getTime()).toBe(LEAP_DAY_2024);
    expect(parseInstant('2024-02-29T00:00:00Z').getTime()).toBe(LEAP_DAY_2024);
    expect(parseInstant('2024-02-29T12:30').getTime()).toBe(LEAP_DAY_2024 + 12.5 * 3_600_000);
    // 02:00 at +02:00 is midnight UTC.
    expect(parseInstant('2024-02-29T02:00:00+02:00').getTime()).toBe(LEAP_DAY_2024);
    expect(parseInstant('2024-02-29T00:00:00.250Z').getTime()).toBe(LEAP_DAY_2024 + 250);
  });

  it.each([
    ['2026-02-30T00:00:00Z', 'February 2026 has 28 days'],
    ['2025-02-29', 'February 2025 has 28 days'],
    ['2026-04-31T00:00:00Z', 'April 2026 has 30 days'],
    ['2026-13-01', 'no month 13'],
    ['2026-00-10', 'no month 00'],
    ['2026-01-01T24:00:00Z', 'not a real time of day'],
    ['2026-01-01T23:60Z', 'not a real time of day'],
    ['2026-01-01T00:00:00+25:00', 'impossible UTC offset'],
  ])('refuses %s (%s) instead of rolling it over', (text, reason) => {
    expect(() => parseInstant(text)).toThrow(TimeFormatError);
    expect(() => parseInstant(text)).toThrow(reason);
  });

  it('refuses what is not ISO 8601', () => {
    for (const text of ['1', 'May', 'yesterday', '2026/01/01', '2026-1-1'])
      expect(() => parseInstant(text)).toThrow(/is not a time: use ISO 8601/);
  });

  it("is what the configuration's start goes through", () => {
    expect(() =>
      validateConfig(
        { models: [{ name: 'm', window: '1h', start: '2026-02-30T00:00:00Z', jobs: ['drift'] }] },
        { env: {} },
      ),
    ).toThrow('models[0].start: "2026-02-30T00:00:00Z" is not a real date: February 2026 has 28 days');
  });
});
