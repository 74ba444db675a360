/**
 * Reports: gather a period's results for one or more models, judge them, chart them, and render
 * them as a self-contained HTML file or an e-mail. `buildReport` is the one entry point the CLI and
 * the scheduler's report job share.
 */
import type { Client } from '@elastic/elasticsearch';
import { dataUri, renderHtml } from './html.js';
import { modelCharts, type Chart } from './charts.js';
import { gatherModelPeriod } from './gather.js';
import { changesSince, verdictOf } from './verdict.js';
import type { MetricBound, ModelPeriodData, ReportData, ReportPeriod } from './types.js';

export type * from './types.js';
export type { Chart } from './charts.js';
export { renderSpec, modelCharts } from './charts.js';
export { gatherModelPeriod } from './gather.js';
export { verdictOf, changesSince, meanMetrics } from './verdict.js';
export { renderHtml, dataUri } from './html.js';
export { renderText } from './text.js';
export { driftCsv, DRIFT_CSV_COLUMNS } from './csv.js';
export {
  buildMessage,
  sendMessage,
  redactSmtp,
  reportSubject,
  reportMessageId,
  ReportSendError,
  CSV_FILENAME,
} from './email.js';
export type { MessageOptions, SendOptions, SendResult } from './email.js';

/** The period of the same length just before `period`. */
export function previousPeriod(period: ReportPeriod): ReportPeriod {
  const length = period.end.getTime() - period.start.getTime();
  return { start: new Date(period.start.getTime() - length), end: new Date(period.start.getTime()) };
}

export interface BuildReportOptions {
  namespace: string;
  models: string[];
  period: ReportPeriod;
  title?: string;
  /** Per model name: expected metric ranges, drawn as bounds. */
  bounds?: Record<string, Record<string, MetricBound>>;
  /** Reference-versus-current distributions for this many top drifted features per model (default 3). */
  topFeatures?: number;
  /** Clock, for `generatedAt` (tests). */
  now?: () => Date;
}

/** Pure: the report from gathered data (current and previous period per model). */
export function assembleReport(
  periods: Array<{ current: ModelPeriodData; previous?: ModelPeriodData }>,
  meta: { namespace: string; period: ReportPeriod; title: string; generatedAt: Date },
): ReportData {
  return {
    ...meta,
    models: periods.map(({ current, previous }) => ({
      data: current,
      previous,
      verdict: verdictOf(current),
      changes: changesSince(current, previous),
    })),
  };
}

/** Reads the period (and the one before it) for every model, and renders the charts. */
export async function buildReport(
  client: Client,
  options: BuildReportOptions,
): Promise<{ report: ReportData; charts: Chart[] }> {
  if (options.models.length === 0) throw new Error('a report needs at least one model');
  const previous = previousPeriod(options.period);
  const periods = [];
  for (const model of options.models) {
    const bounds = options.bounds?.[model];
    const [current, before] = await Promise.all([
      gatherModelPeriod(client, {
        namespace: options.namespace,
        model,
        period: options.period,
        bounds,
        topFeatures: options.topFeatures,
      }),
      gatherModelPeriod(client, {
        namespace: options.namespace,
        model,
        period: previous,
        distributions: false,
      }),
    ]);
    periods.push({ current, previous: before });
  }
  const report = assembleReport(periods, {
    namespace: options.namespace,
    period: options.period,
    title: options.title ?? `mlmon report: ${options.models.join(', ')}`,
    generatedAt: options.now?.() ?? new Date(),
  });
  return { report, charts: await renderCharts(report) };
}

/** Every chart of the report, in report order. */
export async function renderCharts(report: ReportData): Promise<Chart[]> {
  const charts: Chart[] = [];
  for (const [i, m] of report.models.entries()) charts.push(...(await modelCharts(m.data, i)));
  return charts;
}

/** The self-contained HTML file: charts as data URIs. */
export function reportHtmlFile(report: ReportData, charts: Chart[]): string {
  return renderHtml(report, charts, { imageSource: dataUri });
}
