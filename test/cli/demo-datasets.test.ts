/**
 * The demo's data set descriptors against the project's copies and their README
 * (data/README.md): row counts, documented column order, real feature names, and the
 * time mapping (expected dates computed independently with Python's datetime:
 * datetime(1996,5,7) + timedelta(minutes=30*45311) = 1998-12-06 23:30,
 * datetime(1950,1,1) + timedelta(days=18158) = 1999-09-19).
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demoCommand } from '../../src/cli/commands/demo.js';
import { readDataText, readLabelledCsv } from '../../src/cli/demo/dataset.js';
import {
  DEMO_DATASETS,
  demoDataPath,
  demoDataset,
  rowTime,
  withFeatureNames,
} from '../../src/cli/demo/datasets.js';

const copy = (id: 'elec' | 'weather') => demoDataPath(DEMO_DATASETS[id]);

describe('demo data sets', () => {
  it('the copies in data/ hold the CSV files data/README.md names by SHA-256 (../shared/datasets)', () => {
    // the digests were taken with sha256sum of ../shared/datasets/{elec,weather}.csv when copied in
    const sha256 = (id: 'elec' | 'weather') =>
      createHash('sha256')
        .update(readDataText(copy(id)))
        .digest('hex');
    expect(sha256('elec')).toBe('ebdfe5480ae25a43a7d054286135e3a9484697a2850d5158a333b1578c28bb97');
    expect(sha256('weather')).toBe('3c38f05bdc5c4cb115f122414c66976e3662c875d96d7199d9e47fc46aff150e');
  });

  it('ELEC2: 45,312 rows under period, nswprice, nswdemand, vicprice, vicdemand, transfer', () => {
    const ds = demoDataset('elec');
    const data = withFeatureNames(readLabelledCsv(demoDataPath(ds)), ds);
    expect(data.rows).toHaveLength(ds.rows);
    expect(ds.rows).toBe(45_312);
    expect(data.features).toEqual(['period', 'nswprice', 'nswdemand', 'vicprice', 'vicdemand', 'transfer']);
    // README: 19,237 up, 26,075 down
    expect(data.labels.filter((y) => y === 1)).toHaveLength(19_237);
    expect(new Date(rowTime(ds, 0)).toISOString()).toBe('1996-05-07T00:00:00.000Z');
    expect(new Date(rowTime(ds, 48)).toISOString()).toBe('1996-05-08T00:00:00.000Z');
    // The reference ends on Thursday 1996-06-06, where an epoch-aligned week (the scheduler's) begins:
    // (datetime(1996,6,6) - datetime(1970,1,1)).days = 9653 = 1379 × 7.
    expect(new Date(rowTime(ds, ds.referenceRows)).toISOString()).toBe('1996-06-06T00:00:00.000Z');
    expect(Math.abs(rowTime(ds, ds.referenceRows) % ds.window.ms)).toBe(0);
    expect(new Date(rowTime(ds, ds.rows - 1)).toISOString()).toBe('1998-12-06T23:30:00.000Z');
    // README: the Victoria columns hold one value for the first 17,424 rows
    const vic = data.features.indexOf('vicprice');
    expect(new Set(data.rows.slice(0, 17_424).map((r) => r[vic])).size).toBe(1);
  });

  it('weather: 18,159 days under their eight real names, one day apart from 1950-01-01', () => {
    const ds = DEMO_DATASETS.weather;
    const data = withFeatureNames(readLabelledCsv(demoDataPath(ds)), ds);
    expect(data.rows).toHaveLength(18_159);
    expect(data.features).toEqual([
      'temperature',
      'dew_point',
      'sea_level_pressure',
      'visibility',
      'wind_speed',
      'max_wind_speed',
      'max_temperature',
      'min_temperature',
    ]);
    // README: 5,698 rain, 12,461 dry
    expect(data.labels.filter((y) => y === 1)).toHaveLength(5_698);
    expect(new Date(rowTime(ds, ds.rows - 1)).toISOString()).toBe('1999-09-19T00:00:00.000Z');
    // The reference ends where a scheduler window (aligned to the epoch) begins:
    // datetime(1950,1,1) + timedelta(days=753) = 1952-01-24, and (1952-01-24 - 1970-01-01).days
    // = -6552 = -18 × 364.
    expect(new Date(rowTime(ds, ds.referenceRows)).toISOString()).toBe('1952-01-24T00:00:00.000Z');
    expect(Math.abs(rowTime(ds, ds.referenceRows) % ds.window.ms)).toBe(0);
  });

  it('refuses a file whose columns are not the documented ones, and unknown data sets', async () => {
    const elec = readLabelledCsv(copy('elec'));
    expect(() => withFeatureNames(elec, DEMO_DATASETS.weather)).toThrow(/not the documented feat_1/);
    expect(() => demoDataset('toString')).toThrow(/unknown data set "toString"/);
    // A usage error (exit 2, one line on stderr), before any I/O: the command layer's contract.
    const io = { stdout: new PassThrough(), stderr: new PassThrough() };
    let err = '';
    io.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    expect(await demoCommand(['--dataset', 'nope'], io)).toBe(2);
    expect(err).toMatch(/--dataset: must be one of elec, weather, not "nope"/);
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});
