/** The scheduler's public API: job contract and registry, scheduler, metrics. */
import { driftJob, performanceJob, qualityJob, serviceJob } from './jobs/analysis.js';
import { featureMeanJob } from './jobs/feature-mean.js';
import { comparisonJob } from './jobs/comparison.js';
import { reportJob } from './jobs/report.js';
import { REPORT_JOB } from './reports.js';
import { JobRegistry } from './jobs/registry.js';

export type {
  ModelRef,
  ResultDocument,
  ResultSummary,
  WindowJob,
  WindowJobContext,
  WindowJobResult,
} from './jobs/contract.js';
export { JobRegistry } from './jobs/registry.js';
export { featureMeanJob, featureMeanDocumentId } from './jobs/feature-mean.js';
export { Scheduler, LockLostError, ShutdownError } from './scheduler.js';
export type { PassSummary, SchedulerOptions, WindowOutcome, WindowRun } from './scheduler.js';
export { StateStore, HeldLock, windowStateId, checkpointId } from './state.js';
export { STATE_INDEX } from '../schema/streams.js';
export type { JobTarget, WindowState, CheckpointState, OwnerEntry, WindowStateDetail } from './state.js';
export { planWindows, alignDown, latestDueEnd } from './windows.js';
export type { WindowPlan } from './windows.js';
export type { TimeWindow } from '../schema/window.js';
export { runHooks, triggeredEvents } from './hooks.js';
export type { HookOutcome, HookPayload } from './hooks.js';
export { SchedulerMetrics, seedLatestResults } from './metrics.js';
export { startMetricsServer } from './metrics-server.js';
export type { MetricsServer } from './metrics-server.js';
export { createJsonLogger, parseLogLines } from './log.js';
export type { StructuredLogger, LogRecord } from './log.js';

export { driftJob, performanceJob, qualityJob, serviceJob } from './jobs/analysis.js';
export { reportJob } from './jobs/report.js';
export { REPORT_JOB, reportSchedules, reportTargetName } from './reports.js';
export type { ReportJobOptions } from './reports.js';

/** The jobs `mlmon schedule` knows: the analyzer's four, the small `feature-mean`, and `report`. */
export function defaultJobRegistry(): JobRegistry {
  return new JobRegistry()
    .register('drift', driftJob)
    .register('quality', qualityJob)
    .register('performance', performanceJob)
    .register('service', serviceJob)
    .register('feature-mean', featureMeanJob)
    .register('comparison', comparisonJob)
    .register(REPORT_JOB, reportJob);
}
