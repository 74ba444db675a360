/**
 * `createPredictionLogger()`: the prediction logger a service creates once and shares.
 */
import winston from 'winston';
import type { OutcomeEvent, PredictionEvent } from '../schema/prediction.js';
import type { CloseOptions, PredictionLoggerOptions } from './core.js';
import type { CloseResult, Counters } from './shipper.js';
import { MlmonTransport } from './transport.js';
import { monitor as monitorFn, type MonitorOptions } from './monitor.js';

export interface PredictionLogger {
  /** Logs one prediction and returns its id (the caller's, or a generated UUIDv7). Never throws. */
  logPrediction(event: PredictionEvent): string;
  /** Logs delayed ground truth for a prediction; returns the outcome document's id. Never throws. */
  logOutcome(event: OutcomeEvent): string;
  /**
   * Sends everything now. Resolves true when everything logged so far (spool included) is in
   * Elasticsearch (or dead-lettered); false when that did not happen within `timeoutMs` (default
   * 30 s) — what is left stays queued, or in the spool while Elasticsearch is unreachable. Never rejects.
   */
  flush(timeoutMs?: number): Promise<boolean>;
  /**
   * Resolves when everything accepted is indexed, dead-lettered or in the spool (after trying for
   * `timeoutMs`, default the logger's `closeTimeoutMs` of 10 s; Infinity waits until delivered), with
   * the final counters plus `pending` (documents left in the spool), `spool` (where) and `timedOut`.
   * When anything is left it also warns, once, naming the spool directory. Idempotent. Never rejects.
   */
  close(options?: CloseOptions): Promise<CloseResult>;
  /** Live counters. */
  readonly counters: Counters;
  /** A winston logger whose only transport is this logger's {@link MlmonTransport}. */
  readonly winston: winston.Logger;
  readonly transport: MlmonTransport;
  /** Wraps a predict function: times it and logs inputs, outputs and errors (see {@link monitorFn}). */
  monitor<A extends unknown[], R>(fn: (...args: A) => R, options?: MonitorOptions<A, R>): (...args: A) => R;
}

export function createPredictionLogger(options: PredictionLoggerOptions = {}): PredictionLogger {
  const transport = new MlmonTransport(options);
  const core = transport.core;
  const logger = winston.createLogger({ level: 'info', transports: [transport], exitOnError: false });
  const api: PredictionLogger = {
    logPrediction: (event) => core.logPrediction(event),
    logOutcome: (event) => core.logOutcome(event),
    flush: (timeoutMs) => core.flush(timeoutMs),
    close: async (closeOptions) => {
      const counters = await core.close(closeOptions);
      try {
        logger.close();
      } catch {
        // already closed
      }
      return counters;
    },
    get counters() {
      return core.counters;
    },
    winston: logger,
    transport,
    monitor: (fn, monitorOptions) => monitorFn(api, fn, monitorOptions),
  };
  return api;
}
