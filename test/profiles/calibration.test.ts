/**
 * Calibration maps built where a baseline's data is: from a reference file's score and label
 * columns. The expected map is the hand-worked PAV example of test/stats/calibration.test.ts
 * (scores 0.1…0.6, labels 0 1 0 0 1 1 → knots 0.1→0, 0.2→⅓, 0.4→⅓, 0.5→1, 0.6→1); the
 * Elasticsearch path is exercised on real data by test/performance/calibrated-estimate.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrationFromTable, withCalibration } from '../../src/profiles/calibration.js';
import { ProfileInputError, profileTable, readTable } from '../../src/profiles/from-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mlmon-calibration-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('calibrationFromTable', () => {
  it('fits the hand-worked map from a CSV, skipping rows without a score or a label', async () => {
    const table = await readTable(
      file('ref.csv', 'x,score,label\n1,0.3,0\n2,0.1,0\n3,0.6,1\n4,0.2,1\n5,0.5,1\n6,0.4,0\n7,,1\n8,0.9,\n'),
    );
    const map = calibrationFromTable(table, { score: 'score', label: 'label' });
    expect(map.scores).toEqual([0.1, 0.2, 0.4, 0.5, 0.6]);
    expect(map.probabilities).toEqual([0, 1 / 3, 1 / 3, 1, 1]);
    expect(map.count).toBe(6);
    // stored with the profile, unchanged
    const profile = withCalibration(profileTable(table), map);
    expect(profile.calibration).toBe(map);
    expect(JSON.parse(JSON.stringify(profile)).calibration).toEqual(map);
  });

  it('takes the positive class as a label string (true, yes, …) and says clearly what is wrong', async () => {
    const table = await readTable(file('yes.csv', 'score,label\n0.2,no\n0.8,yes\n'));
    expect(
      calibrationFromTable(table, { score: 'score', label: 'label', positiveClass: 'yes' }).positives,
    ).toBe(1);
    expect(() => calibrationFromTable(table, { score: 'p', label: 'label' })).toThrow(ProfileInputError);
    expect(() => calibrationFromTable(table, { score: 'p', label: 'label' })).toThrow(/no score column "p"/);
    const bad = await readTable(file('bad.csv', 'score,label\n1.5,1\n'));
    expect(() => calibrationFromTable(bad, { score: 'score', label: 'label' })).toThrow(
      /row 1: score 1.5 is not a probability/,
    );
  });
});
