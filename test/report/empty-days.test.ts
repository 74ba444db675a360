/**
 * Issue 29 item 5: a report flags the days of its period without predictions (and days far below
 * the usual volume), on real Elasticsearch, in the built report's text and HTML and in the e-mail
 * the scheduled report job sends through a real SMTP peer. The host zone is America/New_York here:
 * report days are UTC days (DESIGN.md, "Time zones"), so the predictions at 23:30 UTC on day 3 and
 * 00:30 UTC on day 5 (18:30 and 19:30 on days 3 and 4 in New York) leave day 4 empty, as a day in
 * UTC; a histogram by the host's days (or Tokyo's, 08:30 on day 4) would fill it.
 *
 * Data, by hand: a 7-day period from 2026-03-01T00:00Z; days 1, 2, 3, 5 and 7 carry 24 predictions
 * each (one at hh:30 UTC for every hour), day 6 one prediction at 12:00, day 4 none: 121 in all.
 * The median whole day with predictions is 24 (days 1, 2, 3, 5, 6, 7 = 24, 24, 24, 24, 1, 24), so
 * day 6 (1 < 0.1 × 24) is far below the usual volume (volume.ts LOW_DAY_SHARE).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, reportHtmlFile } from '../../src/report/index.js';
import { reportJob } from '../../src/scheduler/jobs/report.js';
import { createJsonLogger } from '../../src/scheduler/log.js';
import { reportSchedules } from '../../src/scheduler/reports.js';
import { validateConfig } from '../../src/schema/config.js';
import { renderText } from '../../src/report/text.js';
import { dailyVolume, dateRuns } from '../../src/report/volume.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writePredictions } from '../performance/fixtures.js';
import { startSmtpPeer, type SmtpPeer } from './smtp.js';

const MODEL = 'gappy';
const START = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const period = { start: new Date(START), end: new Date(START + 7 * DAY) };
const EMPTY = 'No predictions on 1 of 7 UTC days: 2026-03-04.';
const LOW = 'Far below the usual volume (under 10 % of the median day, 24 predictions) on 2026-03-06.';

function predictions(): Array<Record<string, unknown> & { prediction: { id: string } }> {
  const times: number[] = [];
  for (const d of [0, 1, 2, 4, 6])
    for (let h = 0; h < 24; h++) times.push(START + d * DAY + h * HOUR + HOUR / 2);
  times.push(START + 5 * DAY + 12 * HOUR);
  return times.map((t, i) => ({
    '@timestamp': new Date(t).toISOString(),
    model: { name: MODEL, version: '1' },
    prediction: { id: `p${i}`, label: 'yes' },
  }));
}

let savedTz: string | undefined;

describe('report: days without predictions (issue 29 item 5)', () => {
  const client = testClient();
  const namespace = uniqueNamespace('gaps');
  let peer: SmtpPeer;

  beforeAll(async () => {
    savedTz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    await writePredictions(client, namespace, predictions());
    peer = await startSmtpPeer();
  }, 120_000);
  afterAll(async () => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
    await peer?.close();
    await dropNamespace(client, namespace, [MODEL]);
    await client.close();
  });

  it('the host zone really is New York here', () => {
    expect(new Date(START).getTimezoneOffset()).toBe(300);
  });

  it('the report names day 4 (no predictions) and day 6 (far below the usual volume), in text and HTML', async () => {
    const { report } = await buildReport(client, { namespace, models: [MODEL], period });
    const data = report.models[0]?.data;
    expect(data?.predictionsLogged).toBe(121);
    expect(data?.daily?.days).toEqual([
      { date: '2026-03-01', predictions: 24 },
      { date: '2026-03-02', predictions: 24 },
      { date: '2026-03-03', predictions: 24 },
      { date: '2026-03-04', predictions: 0 },
      { date: '2026-03-05', predictions: 24 },
      { date: '2026-03-06', predictions: 1 },
      { date: '2026-03-07', predictions: 24 },
    ]);
    const text = renderText(report);
    expect(text).toContain(EMPTY);
    expect(text).toContain(LOW);
    const html = reportHtmlFile(report, []);
    expect(html).toContain(EMPTY);
    expect(html).toContain(LOW);
  }, 60_000);

  it('the scheduled report job e-mails the same lines', async () => {
    const config = validateConfig(
      {
        namespace,
        smtp: { url: peer.url, from: 'mlmon@example.com' },
        reports: [
          {
            name: 'weekly',
            models: [MODEL],
            period: '7d',
            start: period.start.toISOString(),
            to: ['team@example.com'],
            retryDelay: '100ms',
          },
        ],
      },
      { env: {} },
    );
    const [schedule] = reportSchedules(config);
    if (!schedule) throw new Error('no report schedule');
    const sink = new Writable({ write: (_c, _e, done) => done() });
    await reportJob({
      client,
      model: { name: schedule.name },
      namespace,
      window: period,
      signal: new AbortController().signal,
      options: schedule.jobs[0]?.options ?? {},
      modelConfig: schedule,
      log: createJsonLogger(sink),
    });
    const [mail] = await peer.waitFor(1);
    expect(mail?.parsed.text).toContain(EMPTY);
    expect(mail?.parsed.text).toContain(LOW);
    expect(typeof mail?.parsed.html === 'string' ? mail.parsed.html : '').toContain(EMPTY);
  }, 120_000);

  it('a day the period covers in part is named when empty, never as low; runs of days are joined', () => {
    // Period 2026-03-01T12:00Z to 03-05T12:00Z: days 1 and 5 are halves. Whole days 2, 3, 4 hold
    // 100, 100, 0; the half days 1 and 5 hold 3 and 0. Median whole day with predictions: 100.
    const half = { start: new Date(START + 12 * HOUR), end: new Date(START + 4 * DAY + 12 * HOUR) };
    const counts = [3, 100, 100, 0, 0];
    const daily = dailyVolume(
      counts.map((predictions, d) => ({ start: START + d * DAY, predictions })),
      half,
    );
    expect(daily.empty).toEqual(['2026-03-04', '2026-03-05']);
    expect(daily.low).toEqual([]);
    expect(daily.medianDay).toBe(100);
    expect(dateRuns(['2026-03-01', '2026-03-03', '2026-03-04', '2026-03-05'])).toBe(
      '2026-03-01, 2026-03-03 to 2026-03-05',
    );
    // No prediction at all: nothing to name (the verdict says so).
    expect(dailyVolume([{ start: START, predictions: 0 }], period).empty).toEqual([]);
  });
});
