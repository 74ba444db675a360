/**
 * CloudEvents from model servers' inference loggers, binary mode (attributes in `ce-*` headers,
 * the payload as the body) or structured mode (`application/cloudevents+json`).
 *
 * Read (no code taken):
 * - KServe, kserve/kserve pkg/logger/worker.go and handler.go (commits 94b70ed, 94adc24): types
 *   `org.kubeflow.serving.inference.request` / `.response`, `ce-id` = the inference's request id
 *   (the incoming `Ce-Id` header, else a new UUID) and the same for both events, extensions
 *   `inferenceservicename`, `namespace`, `component`, `endpoint`, `metadata`; binary encoding; the
 *   response event carries the request's content type; `ce-time` set when sent.
 * - Seldon Core v1 executor, SeldonIO/seldon-core executor/logger/worker.go (commit 4493d8e): types
 *   `io.seldon.serving.inference.request` / `.response`, extensions `requestid` (the pairing key:
 *   the same for request and response), `modelid`, `inferenceservicename` (the SeldonDeployment),
 *   `namespace`, `endpoint` (the predictor); binary encoding.
 */
import type { CollectorMapping, CollectorConfig } from '../schema/config.js';
import { parseJson, type EventRules } from './body.js';
import { PayloadError, requestRows, responseOutputs } from './tensors.js';

export class CloudEventError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CloudEventError';
  }
}

export const EVENT_TYPES: Record<string, { source: Half['source']; role: Half['role'] }> = {
  'org.kubeflow.serving.inference.request': { source: 'kserve', role: 'request' },
  'org.kubeflow.serving.inference.response': { source: 'kserve', role: 'response' },
  'io.seldon.serving.inference.request': { source: 'seldon', role: 'request' },
  'io.seldon.serving.inference.response': { source: 'seldon', role: 'response' },
};

/** One half of an inference: its request or its response event. */
export interface Half {
  source: 'kserve' | 'seldon';
  role: 'request' | 'response';
  /** What pairs the two halves: KServe `ce-id`, Seldon `ce-requestid` (else `ce-id`). */
  key: string;
  eventId: string;
  /** `ce-inferenceservicename`: the InferenceService or SeldonDeployment. */
  service?: string;
  /** Seldon `ce-modelid`. */
  modelId?: string;
  namespace?: string;
  endpoint?: string;
  /** `ce-time`, when the logger sent the event. */
  time?: string;
  receivedAt: number;
  body: unknown;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s !== '' ? s.slice(0, 512) : undefined;
}

export function mappingFor(
  mappings: readonly CollectorMapping[],
  half: Pick<Half, 'service' | 'modelId'>,
): CollectorMapping | undefined {
  return (
    mappings.find((m) => half.service !== undefined && m.match === half.service) ??
    mappings.find((m) => half.modelId !== undefined && m.match === half.modelId)
  );
}

/** Reads and checks one CloudEvent; throws {@link CloudEventError} with a one-line reason. */
export function halfFromRequest(
  headers: Headers,
  text: string,
  settings: Pick<CollectorConfig, 'mappings'>,
  rules: EventRules,
): Half {
  let attrs: Record<string, string | undefined>;
  let body: unknown;
  const contentType = (header(headers, 'content-type') ?? '').toLowerCase();
  if (contentType.startsWith('application/cloudevents+json')) {
    const parsed = parseJson(text);
    if (!parsed.ok) throw new CloudEventError(400, 'invalid_json', parsed.reason);
    const envelope = parsed.value as Record<string, unknown>;
    if (typeof envelope !== 'object' || envelope === null)
      throw new CloudEventError(400, 'invalid_event', 'a structured CloudEvent must be a JSON object');
    attrs = {};
    for (const [k, v] of Object.entries(envelope)) if (typeof v === 'string') attrs[k] = v.slice(0, 512);
    body = envelope.data;
  } else {
    attrs = {};
    for (const name of [
      'specversion',
      'id',
      'type',
      'source',
      'time',
      'inferenceservicename',
      'namespace',
      'endpoint',
      'requestid',
      'modelid',
    ])
      attrs[name] = header(headers, `ce-${name}`);
    if (attrs.specversion === undefined)
      throw new CloudEventError(
        400,
        'not_cloudevent',
        'not a CloudEvent: no ce-specversion header (binary mode) and not application/cloudevents+json',
      );
    const parsed = parseJson(text);
    if (!parsed.ok) throw new CloudEventError(400, 'invalid_json', parsed.reason);
    body = parsed.value;
  }
  const kind = attrs.type === undefined ? undefined : EVENT_TYPES[attrs.type];
  if (!kind)
    throw new CloudEventError(
      400,
      'unknown_event_type',
      `unknown CloudEvent type ${JSON.stringify(attrs.type ?? null)}; expected ${Object.keys(EVENT_TYPES).join(', ')}`,
    );
  if (attrs.id === undefined)
    throw new CloudEventError(400, 'invalid_event', 'the CloudEvent has no id (ce-id)');
  const half: Half = {
    source: kind.source,
    role: kind.role,
    key: kind.source === 'seldon' ? (attrs.requestid ?? attrs.id) : attrs.id,
    eventId: attrs.id,
    service: attrs.inferenceservicename,
    modelId: attrs.modelid,
    namespace: attrs.namespace,
    endpoint: attrs.endpoint,
    time: attrs.time,
    receivedAt: Date.now(),
    body,
  };
  const mapping = mappingFor(settings.mappings, half);
  if (rules.models) {
    const model = mapping?.model?.name ?? half.service ?? rules.defaultModel;
    if (model === undefined || !rules.models.has(model))
      throw new CloudEventError(
        400,
        'unknown_model',
        `unknown model ${JSON.stringify(model ?? null)} (collector.models lists the accepted ones)`,
      );
  }
  // Check the payload now, so that a bad half is refused at once rather than waiting for its pair.
  try {
    if (half.role === 'request') requestRows(body, mapping);
    else responseOutputs(body);
  } catch (error) {
    if (error instanceof PayloadError) throw new CloudEventError(400, 'invalid_payload', error.message);
    throw error;
  }
  return half;
}
