/**
 * Report jobs on the scheduler: each report job of the configuration (`reports:`) runs as a pass of
 * its own over periods, with the same locks, checkpoints, catch-up and retries as a model's
 * analysis windows. A period is a window of the report's period length (aligned to multiples of
 * it since the epoch, UTC); its lock in `mlmon-state` is what makes one replica, and one only, send
 * the period's e-mail, and its checkpoint what keeps a restart from sending it again.
 */
import type { MlmonConfig, ModelConfig, ReportJobConfig } from '../schema/config.js';
import type { PerformanceBound } from '../schema/config.js';
import { alignDown } from './windows.js';

/** The name of the report job in the job registry. */
export const REPORT_JOB = 'report';

/** What the report job finds in its context's `options`. */
export interface ReportJobOptions {
  report: ReportJobConfig;
  /** The SMTP URL (a secret: never logged). */
  smtpUrl: string;
  /** Performance bounds per model name, from `models[].performance.bounds`. */
  bounds: Record<string, Record<string, PerformanceBound>>;
}

/** Name under which a report job's locks and checkpoints are kept (`model.name` of its targets). */
export function reportTargetName(report: ReportJobConfig): string {
  return `report:${report.name}`;
}

/** Every report job as a schedule the scheduler runs like a model's, with the `report` job only. */
export function reportSchedules(config: MlmonConfig, now: number = Date.now()): ModelConfig[] {
  return config.reports.map((report) => {
    const bounds: ReportJobOptions['bounds'] = {};
    for (const m of config.models)
      if (m.namespace === report.namespace && report.models.includes(m.name))
        bounds[m.name] = m.performance.bounds;
    const options: ReportJobOptions = { report, smtpUrl: config.smtp.url ?? '', bounds };
    // Without a start, the first run sends the latest due period only, not maxCatchUp old ones.
    const latestStart = alignDown(now - report.delayMs, report.periodMs) - report.periodMs;
    return {
      name: reportTargetName(report),
      versions: 'all',
      namespace: report.namespace,
      windowMs: report.periodMs,
      cron: report.cron,
      delayMs: report.delayMs,
      start: report.start ?? new Date(latestStart),
      jobs: [{ name: REPORT_JOB, options: options as unknown as Record<string, unknown> }],
      // No late-label re-runs: a report period is sent once.
      performance: { bounds: {}, labelHorizonMs: 0, calibration: 'none' },
      hooks: [],
    };
  });
}
