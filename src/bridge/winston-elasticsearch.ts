/**
 * `mlmon/winston-elasticsearch`: for services that already log through winston-elasticsearch's
 * `ElasticsearchTransport`. With these options their transport writes mlmon's prediction
 * documents (built by src/schema/prediction.ts, the same normalisation as mlmon's own logger) into
 * `logs-mlmon.prediction-{ns}`, with mlmon's mappings, so the analyzer reads them like any other.
 *
 *   await setupMlmonTemplates(client);              // mlmon's index templates (or `mlmon setup`)
 *   logger.add(new ElasticsearchTransport({
 *     ...mlmonTransportOptions({ client, namespace: 'prod', model: { name: 'fraud', version: '3' } }),
 *     flushInterval: 1000,
 *   }));
 *   logger.info('prediction', { id, features, prediction: { label, score }, latencyMs });
 *
 * What the entry's meta holds is taken as a prediction event (docs/logger.md); entries without
 * `features` or `prediction` (the service's other logs) are filtered out by the transport's format.
 * Outcomes (delayed ground truth) are not written through this bridge: log them with mlmon's
 * logger (`logOutcome`, or `MlmonTransport` with `mlmon: 'outcome'`).
 * Delivery is winston-elasticsearch's own, with its limits (docs/logger.md, "Through
 * winston-elasticsearch"): prefer mlmon's logger where losing or duplicating predictions matters.
 *
 * Not exported from `mlmon` or `mlmon/logger`: it loads winston-elasticsearch and the template
 * installer, which a service on mlmon's own logger does not need.
 */
import type { Client } from '@elastic/elasticsearch';
import winston from 'winston';
import {
  ElasticsearchTransport,
  type ElasticsearchTransportOptions,
  type LogData,
} from 'winston-elasticsearch';
import { installTemplates, type InstallOptions, type SetupResult } from '../elastic/templates.js';
import { uuidv7 } from '../schema/id.js';
import { DEFAULT_LIMITS, isUsableId, read, type NormalizeLimits } from '../schema/normalize.js';
import {
  buildPredictionDocument,
  compileSchema,
  logEntryKind,
  type DocumentContext,
  type FeatureSchema,
  type ModelRef,
  type ServiceRef,
} from '../schema/prediction.js';
import { dataStreamFields, DEFAULT_NAMESPACE, logStream } from '../schema/streams.js';

export interface PredictionTransformerOptions {
  /** The model, unless an entry names its own (`model: { name, version }` in the meta). */
  model: ModelRef;
  service?: ServiceRef;
  /** Declared features: entries are tagged with `mlmon.quality.*` against it, as by mlmon's logger. */
  schema?: FeatureSchema;
  limits?: Partial<NormalizeLimits>;
}

export interface MlmonTransportOptions extends PredictionTransformerOptions {
  client: Client;
  /** Data stream namespace (default `default`). */
  namespace?: string;
}

/**
 * winston-elasticsearch `transformer`: the entry's meta (everything but `level` and `message`) is
 * the prediction event; `prediction.id` is the event's `id` when usable, else a new UUIDv7; every
 * document carries the `data_stream` fields of the prediction stream of `namespace`. Never
 * throws (the transport would lose the entry and report nothing).
 */
export function predictionTransformer(
  options: PredictionTransformerOptions & { namespace?: string },
): (logData: LogData) => Record<string, unknown> {
  // The stream's data_stream fields, built once and shared by every document.
  const dataStream = dataStreamFields(logStream('prediction', options.namespace ?? DEFAULT_NAMESPACE));
  const context: DocumentContext = {
    model: options.model,
    service: options.service,
    schema: compileSchema(options.schema),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
  };
  return (logData) => {
    const now = Date.now();
    const event: Record<string, unknown> = { ...logData.meta };
    // winston's `timestamp` format puts the time in the entry; the event's own wins.
    if (event.timestamp === undefined && logData.timestamp !== undefined) event.timestamp = logData.timestamp;
    const raw = read(event, 'id');
    const id = isUsableId(raw) ? raw : uuidv7(now);
    const built = buildPredictionDocument(event, id, now, context);
    if (built.ok) {
      built.doc.data_stream = dataStream;
      return built.doc;
    }
    // Unreachable for a winston entry (its meta is always an object), kept so nothing throws.
    return {
      '@timestamp': new Date(now).toISOString(),
      prediction: { id },
      model: context.model,
      data_stream: dataStream,
    };
  };
}

/**
 * Transport format that lets only prediction entries through to the prediction stream (the same
 * rule as `MlmonTransport`: `features` or `prediction` in the meta; outcomes, `mlmon: 'outcome'`,
 * are not predictions and are left out too).
 */
export const predictionsOnly = winston.format((info) =>
  logEntryKind(info as Record<string, unknown>) === 'prediction' ? info : false,
);

/**
 * Options for winston-elasticsearch's `ElasticsearchTransport` (spread them and add your own, e.g.
 * `flushInterval`): `dataStream: true` into mlmon's prediction stream, mlmon's transformer, only
 * prediction entries. `ensureIndexTemplate: false`: its template (`template_<index>`, its own
 * mappings) must not shadow mlmon's — install mlmon's with {@link setupMlmonTemplates} instead.
 */
export function mlmonTransportOptions(options: MlmonTransportOptions): ElasticsearchTransportOptions {
  return {
    client: options.client,
    dataStream: true,
    index: logStream('prediction', options.namespace ?? DEFAULT_NAMESPACE),
    transformer: predictionTransformer(options),
    ensureIndexTemplate: false,
    format: predictionsOnly(),
  };
}

/** An `ElasticsearchTransport` with {@link mlmonTransportOptions}; `extra` adds or overrides options. */
export function createMlmonElasticsearchTransport(
  options: MlmonTransportOptions,
  extra: Partial<ElasticsearchTransportOptions> = {},
): ElasticsearchTransport {
  return new ElasticsearchTransport({ ...mlmonTransportOptions(options), ...extra });
}

/**
 * Installs mlmon's index templates (what `mlmon setup` does), so the prediction stream is created
 * with mlmon's mappings on the first write. Idempotent; a newer set in the cluster is left alone.
 */
export function setupMlmonTemplates(client: Client, options: InstallOptions = {}): Promise<SetupResult> {
  return installTemplates(client, options);
}
