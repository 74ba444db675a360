/**
 * The demo's data sets described once: file, the real name of every column (from
 * data/README.md, in snake_case), how a row maps to a time, how much of the start is
 * the reference (training) period, how late the truth arrives, and the analysis window. The demo
 * (and the tests replaying the same data) take all of this from here rather than from constants of
 * their own.
 *
 * Times: neither file carries timestamps. ELEC2's rows are half-hours from 1996-05-07 (the README's
 * start; its 45,312 rows then end on 1998-12-06 23:30, a day after the README's "5 December 1998"). The weather file covers "about 50 years" of consecutive days without a recorded first
 * date; the demo places its first row at 1950-01-01 (UTC), a chosen start, so that its 18,159 days
 * end in 1999 — windows and drift dates are therefore relative, not historical.
 */
import { fileURLToPath } from 'node:url';
import type { LabelledRows } from './dataset.js';

export type DemoDatasetId = 'elec' | 'weather';

export interface DemoDataset {
  id: DemoDatasetId;
  /** one line for people */
  title: string;
  /** file name in the project's data/ folder (gzipped CSV; data/README.md: source and licence) */
  file: string;
  /** rows the README documents (a check that the right file was read) */
  rows: number;
  /** CSV column → feature name, in column order (`target` is the label, not a feature) */
  columns: ReadonlyArray<readonly [column: string, feature: string]>;
  /** what the positive class (`target` = 1) means */
  positiveMeaning: string;
  /** time of row 0, ms since the epoch (UTC) */
  start: number;
  /** time between consecutive rows, ms */
  stepMs: number;
  /**
   * rows at the start that are the reference (training) period; the reference ends on a boundary
   * of the scheduler's windows, which are aligned to multiples of their length since the Unix epoch
   * (scheduler/windows.ts), so that the first monitored window starts right after it
   */
  referenceRows: number;
  /** the true label of row i is logged with row i + labelDelayRows (a day later in both) */
  labelDelayRows: number;
  /** analysis window: its length and the duration text the analyzer takes (`1w`, `52w`) */
  window: { ms: number; size: string; name: string };
  /**
   * how many windows of simulated time pass between two scheduler passes. A deployment's scheduler
   * wakes every few minutes and takes every window due since its last pass; the demo wakes it less
   * often than once a window because each pass has a fixed cost (a refresh, the checkpoints, the
   * label cursor) that 131 weekly passes paid 131 times. Late labels still arrive after the pass
   * that ran their window, which is then re-run.
   */
  passEveryWindows: number;
  /** the monitored model's name and version in the demo */
  model: { name: string; version: string };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const DEMO_DATASETS: Readonly<Record<DemoDatasetId, DemoDataset>> = {
  elec: {
    id: 'elec',
    title: 'ELEC2: New South Wales electricity market, half-hourly, 1996-05-07 to 1998-12-05',
    file: 'elec.csv.gz',
    rows: 45_312,
    columns: [
      ['feat_1', 'period'],
      ['feat_2', 'nswprice'],
      ['feat_3', 'nswdemand'],
      ['feat_4', 'vicprice'],
      ['feat_5', 'vicdemand'],
      ['feat_6', 'transfer'],
    ],
    positiveMeaning: 'price went up against its 24-hour moving average',
    start: Date.UTC(1996, 4, 7),
    stepMs: HOUR / 2,
    // four weeks and two days: to Thursday 1996-06-06 00:00, where an epoch-aligned week begins
    // (1970-01-01 was a Thursday)
    referenceRows: 30 * 48,
    labelDelayRows: 48, // one day
    window: { ms: 7 * DAY, size: '1w', name: 'weekly' },
    passEveryWindows: 4,
    model: { name: 'elec-updown', version: '1' },
  },
  weather: {
    id: 'weather',
    title: 'NOAA daily weather, Bellevue, Nebraska: about 50 years of days (placed from 1950-01-01)',
    file: 'weather.csv.gz',
    rows: 18_159,
    columns: [
      ['feat_1', 'temperature'],
      ['feat_2', 'dew_point'],
      ['feat_3', 'sea_level_pressure'],
      ['feat_4', 'visibility'],
      ['feat_5', 'wind_speed'],
      ['feat_6', 'max_wind_speed'],
      ['feat_7', 'max_temperature'],
      ['feat_8', 'min_temperature'],
    ],
    positiveMeaning: 'it rained that day',
    start: Date.UTC(1950, 0, 1),
    stepMs: DAY,
    // two years and 25 days, to 1952-01-24: 18 × 364 days before the epoch, a 52-week boundary
    referenceRows: 2 * 364 + 25,
    labelDelayRows: 1, // one day
    // a day is one prediction, and the weather has seasons: a 52-week window holds every season,
    // as the two-year reference does, so drift means the climate moved, not that winter came
    // (13-week windows flagged nearly every feature in nearly every quarter); ~48 windows
    window: { ms: 364 * DAY, size: '52w', name: '52-week' },
    passEveryWindows: 1,
    model: { name: 'weather-rain', version: '1' },
  },
};

export const DEMO_DATASET_IDS = Object.keys(DEMO_DATASETS) as DemoDatasetId[];

/** The descriptor of a data set id; throws with the known ids otherwise. */
export function demoDataset(id: string): DemoDataset {
  const dataset = (DEMO_DATASETS as Record<string, DemoDataset | undefined>)[id];
  if (!dataset || !Object.hasOwn(DEMO_DATASETS, id)) {
    throw new RangeError(`unknown data set "${id}" (known: ${DEMO_DATASET_IDS.join(', ')})`);
  }
  return dataset;
}

/**
 * The rows under their real feature names. The file's columns must be exactly the documented ones
 * in order: a different file under the same name would otherwise be monitored under wrong names.
 */
export function withFeatureNames(data: LabelledRows, dataset: DemoDataset): LabelledRows {
  const expected = dataset.columns.map(([column]) => column);
  if (data.features.length !== expected.length || data.features.some((c, i) => c !== expected[i])) {
    throw new RangeError(
      `${dataset.file}: columns ${data.features.join(', ')} are not the documented ${expected.join(', ')}`,
    );
  }
  return { ...data, features: dataset.columns.map(([, feature]) => feature) };
}

/** Time of row i. */
export function rowTime(dataset: DemoDataset, row: number): number {
  return dataset.start + row * dataset.stepMs;
}

/**
 * The project's own copy of a data set: `data/<file>` at the project root, three folders up from
 * src/cli/demo (tsx) and dist/cli/demo (built, and in the installed package, whose "files" carry
 * data/) alike. The demo and the tests read this copy, so a fresh clone needs nothing beside it.
 */
export function demoDataPath(dataset: DemoDataset): string {
  return fileURLToPath(new URL(`../../../data/${dataset.file}`, import.meta.url));
}
