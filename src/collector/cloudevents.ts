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

/** Seldon Core's feedback event (executor/logger/worker.go `CEFeedback`): truth for a prediction. */
export const SELDON_FEEDBACK = 'io.seldon.serving.feedback';

/** One half of an inference: its request or its response event. */
export interface Half {
  source: 'kserve' | 'seldon';
  role: 'request' | 'response';
  /** What pairs the two halves: KServe `ce-id`, Seldon `ce-requestid` (else `ce-id`). */
  key: string;
  eventId: string;
  /** `ce-inferenceservicename`: the InferenceService or SeldonDeployment. */
  service?: string;
  /** Seldon `ce-modelid`: the graph node. */
  modelId?: string;
  /** `ce-namespace`: the Kubernetes namespace. */
  namespace?: string;
  /** KServe `ce-component`: predictor, transformer, explainer. */
  component?: string;
  endpoint?: string;
  /** `ce-time`, when the logger sent the event. */
  time?: string;
  receivedAt: number;
  body: unknown;
}

/** A Seldon feedback event: the attributes that name its prediction, and its body. */
export interface Feedback {
  source: 'seldon';
  role: 'feedback';
  key: string;
  eventId: string;
  service?: string;
  modelId?: string;
  namespace?: string;
  endpoint?: string;
  time?: string;
  body: unknown;
}

/** Node's `headersDistinct`: every header as the list of its values. */
type Headers = Record<string, string[] | undefined>;

/** Longest attribute value taken; a longer one is refused, never cut (a cut id would collide). */
export const MAX_ATTRIBUTE_CHARS = 512;

/**
 * One CloudEvents attribute from its header: refused when repeated (two ids are no id), decoded
 * as the HTTP binding says (percent-encoding), and raw UTF-8 bytes read as UTF-8 (Node gives
 * header bytes as latin1).
 */
function header(headers: Headers, name: string): string | undefined {
  const values = headers[name];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1)
    throw new CloudEventError(400, 'repeated_header', `the header ${name} is repeated; send it once`);
  let v = values[0] as string;
  if (!isAscii(v)) v = Buffer.from(v, 'latin1').toString('utf8');
  if (v.includes('%'))
    try {
      v = decodeURIComponent(v);
    } catch {
      throw new CloudEventError(400, 'invalid_header', `the header ${name} has a malformed percent-encoding`);
    }
  return checkedAttribute(name, v);
}

function isAscii(v: string): boolean {
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) return false;
  return true;
}

function checkedAttribute(name: string, v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > MAX_ATTRIBUTE_CHARS)
    throw new CloudEventError(
      400,
      'attribute_too_long',
      `${name} is ${v.length} characters; at most ${MAX_ATTRIBUTE_CHARS} are taken`,
    );
  return v;
}

export function mappingFor(
  mappings: readonly CollectorMapping[],
  half: Pick<Half, 'service' | 'modelId' | 'namespace'>,
): CollectorMapping | undefined {
  // The node first: in a Seldon graph every node shares the deployment's name. Within each, the
  // name in its Kubernetes namespace (`<namespace>/<name>`) before the bare name.
  const names = [half.modelId, half.service].flatMap((name) =>
    name === undefined ? [] : half.namespace ? [`${half.namespace}/${name}`, name] : [name],
  );
  for (const name of names) {
    const found = mappings.find((m) => m.match === name);
    if (found) return found;
  }
  return undefined;
}

/**
 * The model name of a node's predictions when no mapping names one: `inner` (a V2 response's
 * `model_name`), else Seldon's `modelid` or the SeldonDeployment, else KServe's InferenceService
 * (`<service>-<component>` for a component other than the predictor). Prefixed by the Kubernetes
 * namespace (`<namespace>/<name>`, as kubectl names an object) when the event carries one and
 * `collector.namespaceInModelName` is not false: the same service in two namespaces is two models.
 */
export function nodeModelName(
  half: Pick<Half, 'source' | 'service' | 'component' | 'modelId' | 'namespace'>,
  inner: string | undefined,
  namespaced = true,
): string | undefined {
  const name =
    inner ??
    (half.source === 'seldon'
      ? (half.modelId ?? half.service)
      : half.service && half.component && half.component !== 'predictor'
        ? `${half.service}-${half.component}`
        : half.service);
  if (name === undefined) return undefined;
  return namespaced && half.namespace ? `${half.namespace}/${name}` : name;
}

const ATTRIBUTES = [
  'specversion',
  'id',
  'type',
  'source',
  'time',
  'inferenceservicename',
  'namespace',
  'component',
  'endpoint',
  'requestid',
  'modelid',
] as const;

/** The attributes and data of a structured-mode event (`application/cloudevents+json`). */
function structured(text: string): { attrs: Record<string, string | undefined>; body: unknown } {
  const parsed = parseJson(text);
  if (!parsed.ok) throw new CloudEventError(400, 'invalid_json', parsed.reason);
  const envelope = parsed.value;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope))
    throw new CloudEventError(400, 'invalid_event', 'a structured CloudEvent must be a JSON object');
  const e = envelope as Record<string, unknown>;
  const attrs: Record<string, string | undefined> = {};
  for (const name of ATTRIBUTES) {
    const v = e[name];
    if (typeof v === 'string') attrs[name] = checkedAttribute(name, v);
  }
  let body = e.data;
  if (body === undefined && typeof e.data_base64 === 'string') {
    // The JSON event format carries binary data as base64 (data_base64): decode, then read as JSON.
    const inner = parseJson(Buffer.from(e.data_base64, 'base64').toString('utf8'));
    if (!inner.ok) throw new CloudEventError(400, 'invalid_json', `data_base64: ${inner.reason}`);
    body = inner.value;
  } else if (typeof body === 'string') {
    // A JSON payload sent as a string (datacontenttype application/json): read it.
    const inner = parseJson(body);
    if (inner.ok) body = inner.value;
  }
  return { attrs, body };
}

/**
 * Reads and checks one CloudEvent: a half of an inference, or a Seldon feedback; throws
 * {@link CloudEventError} with a one-line reason.
 */
export function readCloudEvent(
  headers: Headers,
  text: string,
  settings: Pick<CollectorConfig, 'mappings' | 'namespaceInModelName'>,
  rules: EventRules,
): Half | Feedback {
  let attrs: Record<string, string | undefined>;
  let body: unknown;
  const contentType = (header(headers, 'content-type') ?? '').toLowerCase();
  if (contentType.startsWith('application/cloudevents+json')) ({ attrs, body } = structured(text));
  else {
    attrs = {};
    for (const name of ATTRIBUTES) attrs[name] = header(headers, `ce-${name}`);
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
  if (attrs.id === undefined)
    throw new CloudEventError(400, 'invalid_event', 'the CloudEvent has no id (ce-id)');
  if (attrs.type === SELDON_FEEDBACK)
    return {
      source: 'seldon',
      role: 'feedback',
      key: attrs.requestid ?? attrs.id,
      eventId: attrs.id,
      service: attrs.inferenceservicename,
      modelId: attrs.modelid,
      namespace: attrs.namespace,
      endpoint: attrs.endpoint,
      time: attrs.time,
      body,
    };
  const kind = attrs.type === undefined ? undefined : EVENT_TYPES[attrs.type];
  if (!kind)
    throw new CloudEventError(
      400,
      'unknown_event_type',
      `unknown CloudEvent type ${JSON.stringify(attrs.type ?? null)}; expected ${[...Object.keys(EVENT_TYPES), SELDON_FEEDBACK].join(', ')}`,
    );
  const half: Half = {
    source: kind.source,
    role: kind.role,
    key: kind.source === 'seldon' ? (attrs.requestid ?? attrs.id) : attrs.id,
    eventId: attrs.id,
    service: attrs.inferenceservicename,
    modelId: attrs.modelid,
    namespace: attrs.namespace,
    component: attrs.component,
    endpoint: attrs.endpoint,
    time: attrs.time,
    receivedAt: Date.now(),
    body,
  };
  const mapping = mappingFor(settings.mappings, half);
  if (rules.models) {
    // A listed bare name takes the service in every namespace; `<namespace>/<name>` one of them.
    const model =
      mapping?.model?.name ??
      nodeModelName(half, undefined, settings.namespaceInModelName !== false) ??
      rules.defaultModel;
    const bare = mapping?.model?.name ?? nodeModelName(half, undefined, false);
    if (model === undefined || !(rules.models.has(model) || (bare !== undefined && rules.models.has(bare))))
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
