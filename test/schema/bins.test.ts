/**
 * The one bin-labelling rule (src/schema/bins.ts, issue 18 item 1): the analyzer stores these
 * labels in drift.bins, the report and the Kibana Vega panel show them. Expected strings written
 * by hand from the format `(−∞, e0)`, `[e0, e1)`, …, `[en, +∞)`.
 */
import { describe, expect, it } from 'vitest';
import { binLabels } from '../../src/schema/bins.js';
import { nextUp } from '../../src/profiles/profile.js';

describe('binLabels', () => {
  it('names the bins of the inner edges as half-open intervals, open ends as ±∞', () => {
    expect(binLabels([1, 2.5, 10])).toEqual(['(−∞, 1)', '[1, 2.5)', '[2.5, 10)', '[10, +∞)']);
    expect(binLabels([0])).toEqual(['(−∞, 0)', '[0, +∞)']);
    expect(binLabels([])).toEqual(['(−∞, +∞)']);
  });

  it('rounds to 4 significant digits, keeps integers whole', () => {
    // 0.123456789 → 0.1235; 123456 stays whole (toPrecision(4) would give 1.235e+5)
    expect(binLabels([0.123456789, 123456])).toEqual(['(−∞, 0.1235)', '[0.1235, 123456)', '[123456, +∞)']);
    expect(binLabels([-1.23456e-7])).toEqual(['(−∞, -1.235e-7)', '[-1.235e-7, +∞)']);
  });

  it('adds digits until neighbouring edges differ', () => {
    // 1000.1 and 1000.2 both read 1000 with 4 digits; 5 tell them apart (and apply to all edges).
    expect(binLabels([1000.1, 1000.2])).toEqual(['(−∞, 1000.1)', '[1000.1, 1000.2)', '[1000.2, +∞)']);
    // An atom bin [v, nextUp(v)) needs 17 digits: the two edges are one double apart.
    const v = 0.3;
    const [, atom] = binLabels([v, nextUp(v)]);
    expect(atom).toBe('[0.3, 0.30000000000000004)');
    expect(new Set(binLabels([v, nextUp(v)])).size).toBe(3);
  });
});
