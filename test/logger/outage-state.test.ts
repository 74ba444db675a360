/**
 * The outage state machine (src/logger/outage.ts) with a fixed clock and a fixed "random" share, so
 * every wait is known: backoff(attempt) = exp/2 + r·exp/2 with exp = min(max, base·2^attempt).
 */
import { describe, expect, it } from 'vitest';
import { backoff, OutageState } from '../../src/logger/outage.js';

describe('backoff', () => {
  it('doubles from the base, is capped, and jitters within [exp/2, exp]', () => {
    // base 250: exp = 250, 500, 1000, 2000; cap 1000 from attempt 2 on.
    expect([0, 1, 2, 3].map((a) => backoff(a, 250, 1000, () => 0))).toEqual([125, 250, 500, 500]);
    expect([0, 1, 2, 3].map((a) => backoff(a, 250, 1000, () => 1))).toEqual([250, 500, 1000, 1000]);
    // A huge attempt count does not overflow into Infinity or NaN.
    expect(backoff(10_000, 250, 10_000, () => 0.5)).toBe(7500);
  });
});

describe('OutageState', () => {
  it('healthy → outage → recovering → healthy, with longer waits while failures continue', () => {
    const state = new OutageState(100, 1000, () => 0); // waits of exp/2: 50, 100, 200…
    expect(state.phase(0)).toBe('healthy');
    expect(state.active).toBe(false);
    expect(state.waitLeft(0)).toBeUndefined();

    state.fail(1000); // first failure: wait 50 ms
    expect(state.phase(1000)).toBe('outage');
    expect(state.active).toBe(true);
    expect(state.waitLeft(1000)).toBe(50);
    expect(state.phase(1049)).toBe('outage');
    expect(state.phase(1050)).toBe('recovering');

    state.fail(1050); // the probe failed too: wait 100 ms
    expect(state.waitLeft(1050)).toBe(100);
    expect(state.phase(1149)).toBe('outage');
    expect(state.phase(1150)).toBe('recovering');

    state.recover();
    expect(state.phase(1150)).toBe('healthy');
    state.fail(2000); // a new outage starts again from the shortest wait
    expect(state.waitLeft(2000)).toBe(50);
  });

  it('tryNow ends the wait but stays unhealthy until an answer; it does nothing when healthy', () => {
    const state = new OutageState(1000, 10_000, () => 1);
    state.tryNow();
    expect(state.phase(5)).toBe('healthy');
    state.fail(0);
    expect(state.phase(10)).toBe('outage');
    state.tryNow();
    expect(state.phase(10)).toBe('recovering');
    expect(state.active).toBe(true);
    expect(state.waitLeft(10)).toBeUndefined();
  });
});
