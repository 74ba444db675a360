/** `splitAggregations`: how a window's aggregations are cut into concurrent requests (pure). */
import { describe, expect, it } from 'vitest';
import { splitAggregations, type AggRequest } from '../../src/elastic/aggs.js';

// 6 numeric ranges with a sub-aggregation (cost 3 each) and 10 plain aggregations (cost 1 each): 28.
const request: AggRequest = {};
for (let i = 0; i < 6; i++) request[`r${i}`] = { range: { field: `f${i}`, ranges: [] }, aggs: { x: {} } };
for (let i = 0; i < 10; i++) request[`k${i}`] = { terms: { field: `c${i}` } };
const cost = (part: AggRequest) =>
  Object.values(part).reduce<number>((s, a) => s + ('aggs' in (a as object) ? 3 : 1), 0);

describe('splitAggregations', () => {
  it('puts every aggregation in exactly one part, unchanged', () => {
    const parts = splitAggregations(request, 4);
    expect(parts).toHaveLength(4);
    const names = parts.flatMap((p) => Object.keys(p)).sort();
    expect(names).toEqual(Object.keys(request).sort());
    for (const p of parts) for (const [name, agg] of Object.entries(p)) expect(agg).toBe(request[name]);
  });

  it('balances the parts by cost: 28 units in 4 parts of 7', () => {
    expect(splitAggregations(request, 4).map(cost)).toEqual([7, 7, 7, 7]);
    // 3 parts: 6 ranges go 2 per part (6 units each), then the 10 plain ones fill up to 9, 9, 10.
    expect(
      splitAggregations(request, 3)
        .map(cost)
        .sort((a, b) => a - b),
    ).toEqual([9, 9, 10]);
  });

  it('never makes more parts than aggregations, nor empty ones', () => {
    const parts = splitAggregations({ a: { terms: {} }, b: { terms: {} } }, 8);
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => Object.keys(p).length === 1)).toBe(true);
    expect(splitAggregations({}, 8)).toEqual([]);
  });

  it('one part, or a nonsensical count, is the request as it was', () => {
    expect(splitAggregations(request, 1)).toEqual([request]);
    expect(splitAggregations(request, 0)).toEqual([request]);
    expect(splitAggregations(request, Number.NaN)).toEqual([request]);
  });
});
