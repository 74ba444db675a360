/**
 * The contract between the scheduler and the analysis jobs it runs.
 *
 * A job analyzes one window of one model (one version, or every version when the model is
 * configured with `versions: all`) and returns the result documents it wrote. The scheduler owns
 * everything around it: which windows are due, the lock, checkpoints, retries, hooks and metrics.
 * A job must be idempotent (deterministic document ids): after a crash or a lost lock the same
 * window may be run again, and it must then replace its documents, not add to them.
 *
 * This file imports nothing of the scheduler but its logger type, so that the scheduler's parts
 * (metrics, hooks, state, the jobs in this folder) all import it and none of them imports another
 * back (file circles are refused by test/lint/layers.test.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import type { ModelConfig } from '../../schema/config.js';
import type { StructuredLogger } from '../log.js';

export interface ModelRef {
  name: string;
  /** Undefined when the model is configured with `versions: all`: cover every version in the window. */
  version?: string;
}

export interface WindowJobContext {
  client: Client;
  model: ModelRef;
  /** Data stream namespace: read `logs-mlmon.prediction-{namespace}`, write `metrics-mlmon.*-{namespace}`. */
  namespace: string;
  window: { start: Date; end: Date };
  /** Aborted when the lock is lost or the scheduler shuts down: stop and throw (`signal.throwIfAborted()`). */
  signal: AbortSignal;
  /** `options` of this job's entry in the model's `jobs` list. */
  options: Record<string, unknown>;
  /** The model's whole configuration (baseline id, performance bounds…). */
  modelConfig: ModelConfig;
  log: StructuredLogger;
  /** The scheduler's metrics when it serves them: for what a job counts itself (report sends). */
  metrics?: JobMetrics;
}

/** A counter as a job increments it (prom-client's `Counter.inc` with labels). */
export interface JobCounter {
  inc(labels: Record<string, string>): void;
}

/**
 * The counters of `SchedulerMetrics` (metrics.ts) that a job increments itself; spelled here, not
 * imported, because metrics.ts reads this contract's `ResultSummary`.
 */
export interface JobMetrics {
  reportsSent: JobCounter;
  reportSendFailures: JobCounter;
}

/** A result document the job wrote, as written: the scheduler feeds hooks and metrics from it. */
export interface ResultSummary {
  /** Data stream written, e.g. `metrics-mlmon.drift-default`. */
  stream: string;
  /** Deterministic document id. */
  id: string;
  document: ResultDocument;
}

/** The fields of a result document the scheduler reads (see DESIGN.md); jobs may write more. */
export interface ResultDocument {
  '@timestamp'?: string;
  model?: { name?: string; version?: string };
  window?: { start?: string; end?: string; count?: number };
  feature?: { name?: string; kind?: string };
  segment?: { name?: string; value?: string };
  drift?: { score?: number; detected?: boolean; [metric: string]: unknown };
  performance?: { degraded?: boolean; [metric: string]: unknown };
  service?: {
    latency?: { p50?: number; p95?: number; p99?: number };
    throughput?: number;
    error_rate?: number;
  };
  [field: string]: unknown;
}

export interface WindowJobResult {
  documents: ResultSummary[];
}

/** What a {@link LabelProbe} is asked: windows whose labels arrived since `since`. */
export interface LabelProbeContext {
  client: Client;
  model: ModelRef;
  namespace: string;
  windowMs: number;
  /** earliest prediction time (window-aligned, epoch ms) whose late labels still count: the label horizon */
  horizonStart: number;
  /** labels joined at or after this (epoch ms); null the first time */
  since: number | null;
  /** also count per window the labels joined at or after this (epoch ms) */
  recentFrom: number;
  modelConfig: ModelConfig;
  log: StructuredLogger;
}

/** A window whose predictions received labels: counts and latest join time (epoch ms). */
export interface LabelledWindowInfo {
  start: number;
  count: number;
  latest: number;
  recent: { count: number; latest: number | null };
}

/** Finds the windows whose labels changed, for a job whose results depend on labels (performance). */
export type LabelProbe = (ctx: LabelProbeContext) => Promise<LabelledWindowInfo[]>;

/**
 * A window job. A job whose results depend on labels that arrive late carries `labelledWindows`:
 * the scheduler then re-runs it for the done windows whose labels changed, within the model's
 * `performance.labelHorizon`.
 */
export type WindowJob = ((ctx: WindowJobContext) => Promise<WindowJobResult>) & {
  labelledWindows?: LabelProbe;
};
