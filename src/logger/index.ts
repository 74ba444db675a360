/**
 * `mlmon/logger`: what a service imports to log predictions. Light on purpose: it loads winston,
 * the Elasticsearch client and the schema builders, never the analyzer, the scheduler, the CLI,
 * nor the report and Kibana modules (src/report, src/kibana); the layer rule in eslint.config.js
 * keeps its imports to elastic/ and schema/.
 */
export { createPredictionLogger, type PredictionLogger } from './create.js';
export { MlmonTransport, type MlmonTransportOptions } from './transport.js';
export { monitor, type MonitorOptions } from './monitor.js';
export {
  LoggerCore,
  normalizeNamespace,
  type CloseOptions,
  type PredictionLoggerOptions,
  type SpoolSettings,
} from './core.js';
export { SHIPPER_DEFAULTS, type CloseResult, type Counters } from './shipper.js';
export { spoolCensus, type FsyncPolicy, type SpoolCensus } from './spool.js';
export { uuidv7 } from '../schema/id.js';
export { DEFAULT_LIMITS, type NormalizeLimits } from '../schema/normalize.js';
export type {
  ActualValue,
  FeatureSchema,
  FeatureSpec,
  ModelRef,
  OutcomeEvent,
  PredictionEvent,
  PredictionOutput,
  ServiceRef,
} from '../schema/prediction.js';
