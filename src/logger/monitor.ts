/**
 * `monitor(logger, fn)`: wraps a predict function so that every call is timed (`event.duration`) and
 * logged with its inputs, output, or error. The wrapper returns exactly what `fn` returns and throws
 * exactly what `fn` throws; the logging itself never throws.
 *
 *   const predict = monitor(logger, model.predict.bind(model));
 *   const score = await predict({ amount: 12.5, country: 'de' });   // logged as one prediction
 */
import { performance } from 'node:perf_hooks';
import type { PredictionEvent, PredictionOutput } from '../schema/prediction.js';

export interface MonitorOptions<A extends unknown[], R> {
  /** Features from the arguments (default: the first argument when it is an object). */
  features?: (...args: A) => Record<string, unknown> | undefined;
  /**
   * The prediction from the result (default: a number is `{ value }`, a string or boolean `{ label }`,
   * an object with label/score/value/probabilities is taken as it is).
   */
  prediction?: (result: Awaited<R>) => PredictionOutput | undefined;
  /** Segments for this call. */
  labels?: (...args: A) => Record<string, string | number | boolean> | undefined;
  /** A prediction id for this call (default: generated). */
  id?: (...args: A) => string | undefined;
}

interface Logs {
  logPrediction(event: PredictionEvent): string;
}

function defaultPrediction(result: unknown): PredictionOutput | undefined {
  if (typeof result === 'number') return { value: result };
  if (typeof result === 'string' || typeof result === 'boolean') return { label: result };
  if (typeof result === 'object' && result !== null) {
    const r = result as Record<string, unknown>;
    if ('label' in r || 'score' in r || 'value' in r || 'probabilities' in r) return r as PredictionOutput;
  }
  return undefined;
}

function attempt<T>(f: (() => T) | undefined): T | undefined {
  if (!f) return undefined;
  try {
    return f();
  } catch {
    return undefined;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

export function monitor<A extends unknown[], R>(
  logger: Logs,
  fn: (...args: A) => R,
  options: MonitorOptions<A, R> = {},
): (...args: A) => R {
  const wrapped = function (this: unknown, ...args: A): R {
    const started = performance.now();
    const timestamp = Date.now();
    const log = (result: unknown, error: unknown, failed: boolean) => {
      try {
        const first = args[0];
        const features = options.features
          ? attempt(() => options.features?.(...args))
          : typeof first === 'object' && first !== null
            ? (first as Record<string, unknown>)
            : undefined;
        const event: PredictionEvent = {
          timestamp,
          latencyMs: performance.now() - started,
          features,
        };
        const id = attempt(() => options.id?.(...args));
        if (id !== undefined) event.id = id;
        const labels = attempt(() => options.labels?.(...args));
        if (labels) event.labels = labels;
        if (failed) event.error = error ?? 'prediction failed';
        else {
          const prediction = options.prediction
            ? attempt(() => options.prediction?.(result as Awaited<R>))
            : defaultPrediction(result);
          if (prediction) event.prediction = prediction;
        }
        logger.logPrediction(event);
      } catch {
        // Logging never breaks the prediction.
      }
    };
    let result: R;
    try {
      result = fn.apply(this, args);
    } catch (error) {
      log(undefined, error, true);
      throw error;
    }
    if (isThenable(result)) {
      return (result as PromiseLike<unknown>).then(
        (value) => {
          log(value, undefined, false);
          return value;
        },
        (error: unknown) => {
          log(undefined, error, true);
          throw error;
        },
      ) as R;
    }
    log(result, undefined, false);
    return result;
  };
  return wrapped;
}
