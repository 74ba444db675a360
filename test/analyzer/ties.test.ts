/**
 * A heavily tied feature (a few values hold half of the data, the rest continuous around them) from a
 * file baseline: the file profile isolates frequent values in bins of their own, as the
 * Elasticsearch profile does, so the binned KS of the Elasticsearch path stays within 0.01 of the
 * exact KS on the raw values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import type { AnalyzeResult } from '../../src/analyzer/job.js';
import { profileTable, type Cell } from '../../src/profiles/from-file.js';
import type { NumericFeatureProfile } from '../../src/profiles/types.js';
import { binCounts, ks2samp, psiFromCounts } from '../../src/stats/drift/index.js';
import { indexProfileAnalyze } from '../helpers/analysis.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { seededRandom } from '../helpers/predictions.js';

const T0 = Date.parse('2024-04-01T00:00:00Z');
const DAY = 86_400_000;

/** Zero, one and 2.5 hold `shares` of the values; the rest is exponential, spread around them. */
function tied(n: number, seed: number, shares: [number, number, number], scale: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = rand();
    if (u < shares[0]) return 0;
    if (u < shares[0] + shares[1]) return 1;
    if (u < shares[0] + shares[1] + shares[2]) return 2.5;
    return -Math.log(1 - rand()) * scale;
  });
}

describe('file baseline with tied values', () => {
  let client: Client;
  const ns = uniqueNamespace('ties');
  const ref = tied(5000, 11, [0.35, 0.1, 0.05], 3);
  // Each window shifts the shares of the atoms a little (inside one bin in a quantile-only binning).
  const windows = [tied(3000, 12, [0.35, 0.1, 0.05], 3), tied(3000, 13, [0.3, 0.13, 0.03], 3.3)];
  const profile = profileTable(
    {
      path: 'memory',
      format: 'csv',
      columns: ['t'],
      rowCount: ref.length,
      cells: new Map<string, Cell[]>([['t', ref]]),
    },
    {},
  );
  let result: AnalyzeResult;

  beforeAll(async () => {
    client = testClient();
    ({ result } = await indexProfileAnalyze(client, {
      namespace: ns,
      rows: windows.flatMap((w, k) =>
        w.map((t, i) => ({
          timestamp: new Date(T0 + k * DAY + Math.floor((i * DAY) / w.length)),
          features: { t },
        })),
      ),
      reference: { type: 'profile', id: 'file', profile },
      from: new Date(T0),
      to: new Date(T0 + 2 * DAY),
      windowMs: DAY,
    }));
  });
  afterAll(async () => client?.close());

  it('the file profile gives each value holding ≥ 0.5 % a bin of its own', () => {
    const p = profile.features.t as NumericFeatureProfile;
    for (const atom of [0, 1, 2.5]) {
      const b = p.edges.indexOf(atom);
      expect(b).toBeGreaterThanOrEqual(0);
      // bin b + 1 is [atom, next edge): exactly the atom's occurrences.
      expect(p.counts[b + 1]).toBe(ref.filter((v) => v === atom).length);
    }
    expect(Math.max(...p.counts) / p.count).toBeLessThan(0.36);
  });

  for (const k of [0, 1]) {
    it(`window ${k}: KS within 0.01 of the exact KS, PSI exactly`, () => {
      const w = windows[k] as number[];
      const r = result.versions[0]?.windows[k]?.fields.find((f) => f.name === 't');
      const exact = ks2samp(ref, w).statistic;
      const es = r?.drift?.ks as number;
      process.stdout.write(
        `[ties] window ${k}: ks es=${es} exact=${exact} (bound ${r?.drift?.ks_error_bound})\n`,
      );
      expect(Math.abs(es - exact)).toBeLessThanOrEqual(0.01);
      // The stated bound: atom bins add nothing, every other bin holds about 1 % (a quantile-only
      // binning puts 35 % of the data in the bin starting at 0, and the bound says 0.35).
      expect(r?.drift?.ks_error_bound).toBeLessThanOrEqual(0.015);
      expect(es).toBeLessThanOrEqual(exact + 1e-12);
      expect(exact - es).toBeLessThanOrEqual((r?.drift?.ks_error_bound as number) + 1e-12);
      const p = profile.features.t as NumericFeatureProfile;
      expect(r?.drift?.psi).toBeCloseTo(psiFromCounts(p.psiCounts, binCounts(p.psiEdges, w)), 12);
    });
  }
});
