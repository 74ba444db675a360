/**
 * The one home of mlmon's data stream and index names (docs/DESIGN.md, "Data streams and
 * indices"). Every writer and reader — logger, analyzer, scheduler, Kibana objects, reports — takes
 * its names from here, so a rename is one change. Names follow Elastic's data stream naming scheme
 * `{type}-{dataset}-{namespace}`; the dataset is `mlmon.<kind>`.
 */

/** Namespace used when none is given (one per environment is the usual choice). */
export const DEFAULT_NAMESPACE = 'default';

/**
 * What is wrong with a namespace, or undefined when it is valid. Elastic's data stream naming
 * scheme: lowercase, no '-' (it separates type, dataset and namespace), none of \ / * ? " < > | ,
 * # : or space, at most 100 bytes. mlmon is stricter (letters, digits and '_'): a namespace goes
 * into index expressions (`*-mlmon.*-prod`), where `*` or `,-x` would read other namespaces.
 * The one rule for the configuration file and every command's --namespace.
 */
export function namespaceProblem(value: string): string | undefined {
  if (/^[a-z0-9][a-z0-9_]*$/.test(value) && Buffer.byteLength(value) <= 100) return undefined;
  return 'a namespace is lowercase letters, digits and "_" (no "-", "*" or ","), at most 100 characters';
}

/** Streams of type `logs` (written by the logger). */
export type LogStreamKind = 'prediction' | 'outcome' | 'deadletter';
/** Streams of type `metrics` (written by the analyzer; `service` also by the logger's sampler). */
export type ResultStreamKind = 'drift' | 'quality' | 'performance' | 'service' | 'evaluation';

/**
 * The logger's resource samples (CPU, memory, event-loop lag of the service process), a `metrics`
 * stream of their own: written by every service process, not by the analyzer, with a mapping of
 * their own (`mlmon-process@mappings`).
 */
export type ProcessStreamKind = 'process';

export const LOG_STREAM_KINDS: readonly LogStreamKind[] = ['prediction', 'outcome', 'deadletter'];
export const RESULT_STREAM_KINDS: readonly ResultStreamKind[] = [
  'drift',
  'quality',
  'performance',
  'service',
  'evaluation',
];

/** Regular indices (not data streams): reference profiles, and scheduler locks and checkpoints. */
export const BASELINES_INDEX = 'mlmon-baselines';
export const STATE_INDEX = 'mlmon-state';

/**
 * `mlmon-pairs-prod`: halves (request or response) of KServe / Seldon inferences that `mlmon
 * collect` replicas pair through Elasticsearch (a regular index: realtime GET by `_id`, deletes).
 */
export function pairsIndex(namespace: string = DEFAULT_NAMESPACE): string {
  return `mlmon-pairs-${namespace}`;
}

/**
 * What a name the logger core writes to is: a data stream (every `logs-` and `metrics-` stream,
 * sent with `require_data_stream` so that nothing else is ever created in its place) or a regular
 * index (the collector's pair halves, {@link pairsIndex}). Decided here, the one home of the names,
 * and from the name alone because the spool stores only the name with each document.
 */
export type Destination = 'data-stream' | 'index';

export function destinationOf(name: string): Destination {
  return name.startsWith(PAIRS_PREFIX) ? 'index' : 'data-stream';
}

const PAIRS_PREFIX = pairsIndex('');

/** `logs-mlmon.prediction-prod`. */
export function logStream(kind: LogStreamKind, namespace: string = DEFAULT_NAMESPACE): string {
  return `logs-mlmon.${kind}-${namespace}`;
}

/** `metrics-mlmon.drift-prod`. */
export function resultStream(kind: ResultStreamKind, namespace: string = DEFAULT_NAMESPACE): string {
  return `metrics-mlmon.${kind}-${namespace}`;
}

/** `metrics-mlmon.process-prod`: the logger's resource samples. */
export function processStream(namespace: string = DEFAULT_NAMESPACE): string {
  return `metrics-mlmon.process-${namespace}`;
}

/** Index pattern over every namespace of one stream kind, e.g. `metrics-mlmon.drift-*`. */
export function streamPattern(kind: LogStreamKind | ResultStreamKind | ProcessStreamKind): string {
  return (LOG_STREAM_KINDS as readonly string[]).includes(kind)
    ? `logs-mlmon.${kind}-*`
    : `metrics-mlmon.${kind}-*`;
}

/** Index pattern over every mlmon stream of one namespace, `*-mlmon.*-prod`. */
export function namespacePattern(namespace: string = DEFAULT_NAMESPACE): string {
  return `*-mlmon.*-${namespace}`;
}

/** `metrics-mlmon.drift-prod` → `{ type: 'metrics', kind: 'drift', namespace: 'prod' }`; else undefined. */
export function parseStream(
  name: string,
): { type: 'logs' | 'metrics'; kind: string; namespace: string } | undefined {
  const match = /^(logs|metrics)-mlmon\.([a-z_]+)-(.+)$/.exec(name);
  if (!match) return undefined;
  return { type: match[1] as 'logs' | 'metrics', kind: match[2] as string, namespace: match[3] as string };
}

/** Elastic's data stream fields of a document (`data_stream.type`, `.dataset`, `.namespace`). */
export interface DataStreamFields {
  type: 'logs' | 'metrics';
  dataset: string;
  namespace: string;
}

/**
 * The `data_stream` object every document of a stream carries (Elastic's data stream naming
 * convention: the stream's name split into its parts), so that Kibana can filter and group by
 * namespace and dataset; undefined for a name that is not an mlmon stream. Writers build it once
 * per stream and put the same object into every document.
 */
export function dataStreamFields(name: string): DataStreamFields | undefined {
  const parsed = parseStream(name);
  if (!parsed) return undefined;
  return Object.freeze({ type: parsed.type, dataset: `mlmon.${parsed.kind}`, namespace: parsed.namespace });
}

/** Every stream and index name of one namespace, for code that reads and writes several of them. */
export function streamNames(namespace: string = DEFAULT_NAMESPACE) {
  return {
    prediction: logStream('prediction', namespace),
    outcome: logStream('outcome', namespace),
    deadletter: logStream('deadletter', namespace),
    drift: resultStream('drift', namespace),
    quality: resultStream('quality', namespace),
    evaluation: resultStream('evaluation', namespace),
    performance: resultStream('performance', namespace),
    service: resultStream('service', namespace),
    process: processStream(namespace),
    baselines: BASELINES_INDEX,
    state: STATE_INDEX,
  } as const;
}
