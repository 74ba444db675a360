/**
 * `MlmonTransport`: a winston transport for a service that already has a winston logger.
 *
 *   logger.add(new MlmonTransport({ node, model: { name: 'fraud', version: '3' } }));
 *   logger.info('scored', { features, prediction: { label: '1', score: 0.91 }, latencyMs: 3.2 });
 *   logger.info('truth', { mlmon: 'outcome', id, actual: { label: '0' } });
 *
 * A log entry is a prediction when it carries `features` or `prediction`, an outcome when it has
 * `mlmon: 'outcome'`; other entries (the service's ordinary log lines) are ignored. `log()` hands the
 * entry over and calls back at once: winston never waits for Elasticsearch.
 */
import TransportStream from 'winston-transport';
import { logEntryKind } from '../schema/prediction.js';
import { LoggerCore, type CloseOptions, type PredictionLoggerOptions } from './core.js';
import type { CloseResult, Counters } from './shipper.js';

export interface MlmonTransportOptions
  extends PredictionLoggerOptions, TransportStream.TransportStreamOptions {}

type Info = Record<string | symbol, unknown>;

export class MlmonTransport extends TransportStream {
  readonly core: LoggerCore;

  constructor(options: MlmonTransportOptions = {}) {
    super(options);
    this.core = new LoggerCore(options);
  }

  /** Live counters: accepted, indexed, retried, spooled, deadLettered, dropped (and more). */
  get counters(): Counters {
    return this.core.counters;
  }

  override log(info: Info, next: () => void): void {
    try {
      if (info && typeof info === 'object') {
        const kind = logEntryKind(info);
        if (kind === 'outcome') this.core.logOutcome(info);
        else if (kind === 'prediction') this.core.logPrediction(info);
      }
    } catch {
      // LoggerCore never throws; this guard is for a hostile `info` object's getters.
    }
    next();
  }

  /** Sends everything now; see {@link LoggerCore.flush}. */
  flush(timeoutMs?: number): Promise<boolean> {
    return this.core.flush(timeoutMs);
  }

  /**
   * Delivers or spools everything and stops. winston calls this when its logger closes; call it
   * yourself (and await it) before the process exits.
   */
  override close(options?: CloseOptions): Promise<CloseResult> {
    return this.core.close(options);
  }
}
