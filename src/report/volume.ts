/**
 * Predictions per day of a report period, and the days a reader should look at: days without any
 * prediction (a service that stopped logging, a pipeline that broke) and days far below the usual
 * volume. Days are UTC days, as report periods are (DESIGN.md, "Time zones"): `scheduler.timezone`
 * moves only when a report is sent, not what its days are.
 */
import type { Client } from '@elastic/elasticsearch';
import { searchOrEmpty } from '../elastic/search.js';
import { logStream } from '../schema/streams.js';
import type { DailyVolume, ReportPeriod } from './types.js';

const DAY_MS = 86_400_000;

/**
 * A whole day with predictions but fewer than this share of the median whole day with predictions
 * is flagged as far below the usual volume. A tenth: weekly cycles (a weekend at a third of a
 * weekday) stay unflagged, a service that logged for two hours of a day does not.
 */
export const LOW_DAY_SHARE = 0.1;

/** Predictions of one model in the period, in total and per UTC day (empty days kept). */
export async function predictionVolume(
  client: Client,
  namespace: string,
  model: string,
  period: ReportPeriod,
): Promise<{ total: number; daily: DailyVolume }> {
  const response = await searchOrEmpty<
    unknown,
    { days?: { buckets: Array<{ key: number; doc_count: number }> } }
  >(client, {
    index: logStream('prediction', namespace),
    size: 0,
    track_total_hits: true,
    query: {
      bool: {
        filter: [
          { term: { 'model.name': model } },
          { range: { '@timestamp': { gte: period.start.toISOString(), lt: period.end.toISOString() } } },
        ],
      },
    },
    aggs: {
      days: {
        date_histogram: {
          field: '@timestamp',
          calendar_interval: '1d',
          // Explicit: report days are UTC days whatever the cluster's or the host's zone.
          time_zone: 'UTC',
          min_doc_count: 0,
          // Every day the period touches, also those before the first and after the last prediction.
          extended_bounds: { min: period.start.getTime(), max: period.end.getTime() - 1 },
        },
      },
    },
  });
  const total = response?.hits.total;
  const buckets = response?.aggregations?.days?.buckets ?? [];
  return {
    total: typeof total === 'number' ? total : (total?.value ?? 0),
    daily: dailyVolume(
      buckets.map((b) => ({ start: b.key, predictions: b.doc_count })),
      period,
    ),
  };
}

/** The UTC date of an instant, `YYYY-MM-DD`. */
const dateOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Flags the empty and the low days of a per-day histogram (`start` = the UTC midnight a day begins
 * at). Nothing is flagged when the period had no prediction at all: the verdict says that already.
 * A day the period covers only in part (a period that does not start or end at midnight) is flagged
 * when empty, never as low (its share of a day is not a day's volume).
 */
export function dailyVolume(
  buckets: ReadonlyArray<{ start: number; predictions: number }>,
  period: ReportPeriod,
): DailyVolume {
  const days = buckets.map((b) => ({ date: dateOf(b.start), predictions: b.predictions }));
  const any = buckets.some((b) => b.predictions > 0);
  const whole = (b: { start: number }) =>
    b.start >= period.start.getTime() && b.start + DAY_MS <= period.end.getTime();
  const busy = buckets
    .filter((b) => whole(b) && b.predictions > 0)
    .map((b) => b.predictions)
    .sort((x, y) => x - y);
  const median =
    busy.length === 0
      ? null
      : busy.length % 2 === 1
        ? (busy[(busy.length - 1) / 2] as number)
        : ((busy[busy.length / 2 - 1] as number) + (busy[busy.length / 2] as number)) / 2;
  return {
    days,
    empty: any ? buckets.filter((b) => b.predictions === 0).map((b) => dateOf(b.start)) : [],
    low:
      median === null
        ? []
        : buckets
            .filter((b) => whole(b) && b.predictions > 0 && b.predictions < LOW_DAY_SHARE * median)
            .map((b) => dateOf(b.start)),
    medianDay: median,
  };
}

/** Dates as consecutive runs, for a sentence: `2026-03-04, 2026-03-06 to 2026-03-08`. */
export function dateRuns(dates: readonly string[]): string {
  const runs: Array<[string, string]> = [];
  for (const d of dates) {
    const last = runs[runs.length - 1];
    if (last && Date.parse(`${d}T00:00:00Z`) - Date.parse(`${last[1]}T00:00:00Z`) === DAY_MS) last[1] = d;
    else runs.push([d, d]);
  }
  return runs.map(([a, b]) => (a === b ? a : `${a} to ${b}`)).join(', ');
}

/** The sentences a report says about its days (none when every day looks usual). */
export function volumeSentences(daily: DailyVolume | undefined): string[] {
  if (!daily) return [];
  const out: string[] = [];
  const n = daily.days.length;
  if (daily.empty.length > 0) {
    out.push(`No predictions on ${daily.empty.length} of ${n} UTC days: ${dateRuns(daily.empty)}.`);
  }
  if (daily.low.length > 0 && daily.medianDay !== null) {
    out.push(
      `Far below the usual volume (under ${LOW_DAY_SHARE * 100} % of the median day, ${daily.medianDay} predictions) on ${dateRuns(daily.low)}.`,
    );
  }
  return out;
}
