/**
 * The window request's typed aggregation table (issue 28, structure): every aggregation the plan
 * declares is in the request under its name, nothing else is, and each declared reader reads its
 * own aggregation, refusing an answer without it by name. Pure: no Elasticsearch.
 */
import { describe, expect, it } from 'vitest';
import type { MonitoredField } from '../../src/elastic/source.js';
import { profileTable, type Cell } from '../../src/profiles/from-file.js';
import type { MonitoredNumericProfile } from '../../src/profiles/profile.js';
import { conceptAggregations, windowAggregations } from '../../src/analyzer/window-request.js';

const rows = 200;
const cells = new Map<string, Cell[]>([
  ['x', Array.from({ length: rows }, (_, i) => i)],
  ['c', Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 'a' : 'b'))],
  ['prediction.score', Array.from({ length: rows }, (_, i) => i / rows)],
]);
const profile = profileTable({
  path: 't.csv',
  format: 'csv',
  columns: [...cells.keys()],
  rowCount: rows,
  cells,
});
(profile.features.x as MonitoredNumericProfile).outputCorrelation = {
  field: 'prediction.score',
  value: 1,
  method: 'pearson',
};
const unexpected: MonitoredField = {
  name: 'features.new',
  field: 'features.new',
  role: 'feature',
  kind: 'numeric',
  conflicting: false,
};

describe('window request: one typed table of aggregations', () => {
  it('sends exactly the declared aggregations, each under its own name', () => {
    const plan = windowAggregations(profile, [unexpected], { matrixStats: false });
    const declared = [
      ...plan.fields.flatMap((r): Array<{ name: string; body: unknown } | undefined> =>
        r.kind === 'numeric' ? [r.missing, r.bins, r.outOfRange, r.psiBins] : [r.known, r.fresh],
      ),
      plan.typeMismatch,
      ...plan.present,
      plan.matrix,
    ].filter((d) => d !== undefined);
    expect(Object.keys(plan.aggs).sort()).toEqual(declared.map((d) => d.name).sort());
    for (const d of declared) expect(plan.aggs[d.name]).toBe(d.body);
    // Positions in the profile: x, c, score (numeric, categorical, numeric); one unexpected field.
    // In the order the request has always had: per profile entry (x, c, score), then the rest; `o*`
    // because this profile's outer fine edges are not its minimum and the double above its maximum.
    expect(Object.keys(plan.aggs)).toEqual(['r0', 'o0', 'k1', 'u1', 'r2', 'o2', 'tm', 'e0']);
    // Binned correlation (no matrix_stats): x's bins with the output per bin, and the output's spread.
    expect(Object.keys(conceptAggregations(plan))).toEqual(['c0', 'ys']);
  });

  it('with matrix_stats the correlation is in the window request and there is no concept request', () => {
    const plan = windowAggregations(profile, [], { matrixStats: true });
    expect(plan.matrix?.name).toBe('corr');
    expect(plan.aggs.corr).toEqual({ matrix_stats: { fields: ['features.x', 'prediction.score'] } });
    expect(conceptAggregations(plan)).toEqual({});
  });

  it('a reader reads its own aggregation and refuses an answer without it, by name', () => {
    const plan = windowAggregations(profile, [unexpected], { matrixStats: false });
    const present = plan.present[0];
    expect(present?.read({ e0: { doc_count: 7 } })).toBe(7);
    expect(() => present?.read({ e1: { doc_count: 7 } })).toThrow('aggregation e0 missing from the answer');
    expect(plan.typeMismatch.read({ tm: { buckets: [{ key: 'features.x', doc_count: 3 }] } })).toEqual(
      new Map([['features.x', 3]]),
    );
  });
});
