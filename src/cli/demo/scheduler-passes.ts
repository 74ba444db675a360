/**
 * The demo's scheduler: the model as a configuration file would describe it, and the passes of
 * `Scheduler.runModelPass` every few windows of simulated time (moved out of commands/demo.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import { validateConfig, type ModelConfig } from '../../schema/config.js';
import { defaultJobRegistry } from '../../scheduler/index.js';
import { createJsonLogger } from '../../scheduler/log.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import type { CommandIO } from '../io.js';
import type { DemoDataset } from './datasets.js';
import { startProgress } from './progress.js';
import type { Replay } from './replay.js';

/** How long the demo waits for what was logged to be indexed before a scheduler pass. */
export const DRAIN_TIMEOUT_MS = 10 * 60_000;
export const BASELINE_ID = 'training';
/**
 * The scheduler's jobs for the demo's model. `quality` is left out because `drift` writes the
 * quality results from the same aggregation request (scheduler/jobs/analysis.ts): listing it would
 * only add a lock, a completion and a checkpoint per window.
 */
export const JOBS = ['drift', 'performance', 'service'] as const;

export async function settle(replay: Replay, io: CommandIO): Promise<void> {
  // Wait until everything logged is indexed: the pass that follows must see it.
  if (!(await replay.settle(DRAIN_TIMEOUT_MS)))
    io.stderr.write(
      `warning: not everything logged was indexed within ${DRAIN_TIMEOUT_MS / 1000} s; the analysis covers what was\n`,
    );
}

/** The model as a configuration file would describe it, for the scheduler. */
export function demoModelConfig(
  ds: DemoDataset,
  namespace: string,
  referenceEnd: number,
): { config: ReturnType<typeof validateConfig>; model: ModelConfig } {
  const config = validateConfig(
    {
      namespace,
      scheduler: { owner: 'mlmon-demo', logLevel: 'warn' },
      models: [
        {
          name: ds.model.name,
          versions: [ds.model.version],
          window: ds.window.size,
          delay: '0s',
          start: new Date(referenceEnd).toISOString(),
          baseline: BASELINE_ID,
          jobs: [...JOBS],
          performance: { positiveClass: '1', threshold: 0.5 },
        },
      ],
    },
    { env: {}, source: 'mlmon demo' },
  );
  return { config, model: config.models[0] as ModelConfig };
}

const isoSeconds = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

/** What the scheduler passes did, and how long the logging and the passes took. */
export interface SchedulerPasses {
  totals: { passes: number; processed: number; reprocessed: number; failed: number };
  timing: { loggingMs: number; schedulerMs: number };
  /** The scheduler's log lines (JSON, warnings and errors only). */
  schedulerLog: string[];
}

/**
 * The scheduler every `passEveryWindows` windows from `referenceEnd` to `lastEnd`, as `mlmon
 * schedule` would run it after a pause, and one more pass when the last window's labels are in.
 */
export async function runSchedulerPasses(input: {
  client: Client;
  ds: DemoDataset;
  replay: Replay;
  modelConfig: ReturnType<typeof demoModelConfig>;
  referenceEnd: number;
  lastEnd: number;
  labelDelayMs: number;
  io: CommandIO;
}): Promise<SchedulerPasses> {
  const { client, ds, replay, modelConfig, referenceEnd, lastEnd, labelDelayMs, io } = input;
  const schedulerLog: string[] = [];
  const scheduler = new Scheduler({
    config: modelConfig.config,
    client,
    registry: defaultJobRegistry(),
    log: createJsonLogger(
      { write: (chunk: string) => (schedulerLog.push(chunk), true) } as unknown as NodeJS.WritableStream,
      { level: 'warn', fields: { owner: 'mlmon-demo' } },
    ),
  });
  const windows = (lastEnd - referenceEnd) / ds.window.ms;
  const totals = { passes: 0, processed: 0, reprocessed: 0, failed: 0 };
  const timing = { loggingMs: 0, schedulerMs: 0 };
  const pass = async (now: number) => {
    const started = Date.now();
    await replay.advanceTo(now);
    await settle(replay, io);
    const logged = Date.now();
    const summary = await scheduler.runModelPass(modelConfig.model, now);
    timing.loggingMs += logged - started;
    timing.schedulerMs += Date.now() - logged;
    totals.passes++;
    totals.processed += summary.processed;
    totals.reprocessed += summary.reprocessed;
    totals.failed += summary.failed;
  };
  const progress = startProgress(`${ds.window.name} windows`, windows, { stream: io.stderr });
  for (let k = Math.min(ds.passEveryWindows, windows); k >= 1 && k <= windows;) {
    const now = referenceEnd + k * ds.window.ms;
    await pass(now);
    progress.update(k, `to ${isoSeconds(now).slice(0, 10)}`);
    // The last pass falls on the last whole window even when the step overshoots it.
    k = k === windows ? windows + 1 : Math.min(k + ds.passEveryWindows, windows);
  }
  // The last window's last labels arrive a day after it ends: one more pass takes them in (before
  // the next window is due; the rows after the last whole window are logged but not analyzed).
  await pass(lastEnd + labelDelayMs + ds.stepMs);
  progress.stop(
    `${totals.passes} scheduler passes: ${totals.processed} window runs, ${totals.reprocessed} re-runs for late labels, ${totals.failed} failed`,
  );
  return { totals, timing, schedulerLog };
}
