/**
 * `mlmon collect`: the HTTP ingest service for model servers not written in Node.
 *
 * Why Fastify (5.x, checked on npm 2026-12-02: 5.12.8): well kept, among the fastest Node HTTP
 * servers, and it brings what an ingest service must get right anyway — a body size limit enforced
 * while reading (413 before the body is buffered), content-type parsers (415 for anything else),
 * encapsulated routes (the CloudEvents routes accept any content type, the mlmon routes only JSON /
 * NDJSON), and a graceful `close()` that stops accepting and waits for requests in flight.
 *
 * Every event goes through the same logger core as the winston transport (`LoggerCore`): the same
 * document builder, `_id` = prediction id with op_type `create`, retries, spool and dead letters.
 * A 2xx is sent only once the events of the request are durable (`LoggerCore.logDurably`):
 * indexed, dead-lettered, or fsynced in the spool.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  LoggerCore,
  type DurableEntry,
  type Durability,
  type PredictionLoggerOptions,
} from '../logger/core.js';
import type { CollectorConfig } from '../schema/config.js';
import { TokenCheck } from './auth.js';
import { BodyError, isNdjson, parseEvents, type EventKind, type EventRules } from './body.js';
import { CollectorMetrics } from './metrics.js';
import { PairStore, type PairSummary } from './pairs.js';
import { readCloudEvent, CloudEventError, mappingFor } from './cloudevents.js';
import { feedbackOutcomes } from './feedback.js';
import { PayloadError } from './tensors.js';
import { pairsIndex } from '../schema/streams.js';
import { Readiness } from './readiness.js';
import { MemoryBudget } from './memory.js';

export type CollectorSettings = Pick<
  CollectorConfig,
  | 'host'
  | 'port'
  | 'bodyLimit'
  | 'tokens'
  | 'pairTimeoutMs'
  | 'maxPendingPairs'
  | 'memoryBudget'
  | 'namespaceInModelName'
  | 'models'
  | 'defaultModel'
  | 'mappings'
>;

export interface CollectorOptions extends Partial<CollectorSettings> {
  /** The logger core's options (node, namespace, spool, ...); `model` defaults to `defaultModel`. */
  logger: PredictionLoggerOptions;
  /**
   * Longest a request may take to arrive, ms (default 30 s): a client trickling its body is cut
   * off (408) instead of holding its share of the memory budget.
   */
  requestTimeoutMs?: number;
}

export interface CollectorSummary {
  counters: LoggerCore['counters'];
  spoolDir: string | undefined;
  spoolBytes: number;
  pairs: PairSummary;
}

export interface Collector {
  readonly url: string;
  readonly port: number;
  readonly core: LoggerCore;
  readonly metrics: CollectorMetrics;
  readonly app: FastifyInstance;
  /** The pairing of KServe / Seldon halves (through Elasticsearch). */
  readonly pairs: PairStore;
  /** Stops accepting, answers the requests in flight, flushes (or spools) and closes the logger. */
  close(): Promise<CollectorSummary>;
}

/** Default `collector.memoryBudget`: 256 MiB beyond the idle process. */
const DEFAULT_MEMORY_BUDGET = 256 * 2 ** 20;

/** Bytes a stored document (and its spool line) may add beyond its event's JSON. */
const EVENT_OVERHEAD = 512;

const JSON_TYPES = [
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/json-lines',
];

/** A deterministic `_id` for an outcome, so that a re-sent outcome is stored once. */
export function outcomeId(event: Record<string, unknown>): string {
  const key = JSON.stringify([event.id, event.actual ?? null, event.timestamp ?? null]);
  return `o-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** What a durable result says in an answer, and whether it may be acknowledged with a 2xx. */
function durableAnswer(d: Durability): { ok: boolean; body: Record<string, number> } {
  return {
    ok: d.dropped === 0,
    body: { indexed: d.indexed, spooled: d.spooled, deadLettered: d.deadLettered, dropped: d.dropped },
  };
}

const HELD_REASON =
  'Elasticsearch answered but did not store them (a privilege the credentials lack on the stream, ' +
  'no data stream yet: run `mlmon setup`, or refused again and again; the collector logs which): ' +
  'they are kept in the spool and delivered once that is fixed';

/**
 * Events that went to the spool while Elasticsearch answers are held for the operator (the
 * shipper holds what a missing privilege or a missing data stream refuses): answered 202, "accepted,
 * not yet done", with the reason, rather than 200. Not 403 or 503: a KServe or Seldon agent never
 * retries, so an error status would lose on its side what is safe in the spool. Spooled during an
 * outage (unreachable) stays 200, as before.
 */
function held(ctx: Context, d: Durability): boolean {
  return d.spooled > 0 && !ctx.core.shipper.unreachable;
}

/** What the route handlers share: built once per collector by {@link startCollector}. */
interface Context {
  core: LoggerCore;
  metrics: CollectorMetrics;
  rules: EventRules;
  settings: Resolved;
  budget: Budget;
  memory: MemoryBudget;
  pairs: PairStore;
}

/** Which credential the collector sends to Elasticsearch, to name it when it is refused. */
function credentialName(options: PredictionLoggerOptions): string | undefined {
  if (options.apiKey) return 'the API key (elasticsearch.apiKey / ES_API_KEY)';
  if (options.username)
    return `the user "${options.username}" and its password (elasticsearch.username / ES_USERNAME, ES_PASSWORD)`;
  return undefined;
}

type Resolved = CollectorSettings & {
  host: string;
  port: number;
  bodyLimit: number;
  tokens: string[];
  memoryBudget: number;
};

/** Answers with an error status and a one-line reason, counted by its code. */
function refuse(ctx: Context, reply: FastifyReply, status: number, code: string, reason: string) {
  ctx.metrics.rejected.inc({ reason: code });
  return reply.code(status).send({ error: reason, code });
}

/**
 * Refused before its body is read: the connection is closed once the answer is out, so that the
 * body is not read off the socket just to be discarded (200 clients sending 0.75 MB at once would
 * pass 150 MB through the process's buffers).
 */
function closeAfter(reply: FastifyReply): void {
  reply.header('connection', 'close');
  reply.raw.once('finish', () => reply.request.raw.socket?.destroy());
}

function memoryPressure(ctx: Context, reply: FastifyReply) {
  closeAfter(reply);
  reply.header('retry-after', '1');
  return refuse(
    ctx,
    reply,
    429,
    'memory_budget',
    `the collector is at its memory budget (collector.memoryBudget, ${Math.round(ctx.memory.limit / 2 ** 20)} MiB); retry`,
  );
}

function backpressure(ctx: Context, reply: FastifyReply) {
  reply.header('retry-after', ctx.core.shipper.unreachable ? '10' : '1');
  return refuse(
    ctx,
    reply,
    429,
    'backpressure',
    'the collector is at its buffer and spool limit; retry later',
  );
}

/**
 * Bytes that requests being handled may still add (twice their body: a document is larger than
 * the event it is built from), so that concurrent requests cannot together overshoot the limit.
 * With a spool, everything in memory may end up on disk, so memory + spool + reserved must fit in
 * the spool's cap; without one, in the memory buffer. Beyond it a request is refused with 429:
 * memory never grows without bound.
 */
class Budget {
  private reserved = 0;
  private readonly reservations = new WeakMap<FastifyRequest, number>();

  constructor(
    private readonly core: LoggerCore,
    private readonly limit: number,
  ) {}

  /** Would `bytes` more pass the limit? */
  over(bytes: number): boolean {
    return (
      this.core.shipper.bufferedBytes + this.core.shipper.spoolBytes + this.reserved + bytes > this.limit
    );
  }

  /** Raises a request's reservation to `bytes`; false (unchanged) when that would pass the limit. */
  reserve(request: FastifyRequest, bytes: number): boolean {
    const current = this.reservations.get(request) ?? 0;
    if (bytes <= current) return true;
    if (this.over(bytes - current)) return false;
    this.reserved += bytes - current;
    this.reservations.set(request, bytes);
    return true;
  }

  release(request: FastifyRequest): void {
    const bytes = this.reservations.get(request);
    if (bytes !== undefined) {
      this.reserved -= bytes;
      this.reservations.delete(request);
    }
  }
}

/**
 * Memory a KServe / Seldon half may hold at its peak, in multiples of its body: the text, the
 * parsed payload, the rows checked, the half's document and its bulk request, and on pairing the
 * other half read back and the prediction events built from both (the documents are in the
 * logger core's buffer, counted apart). Measured for a 0.75 MB V2 [1500, 50] pair: 6 MB of live
 * prediction events (8x) and 25 MB allocated while they become documents; with 8x,
 * test/collector/memory.test.ts peaked at 76 MiB above idle under a 64 MiB budget, with 16x at
 * 54 MiB (the measured view of {@link MemoryBudget} catches the rest).
 */
const HALF_MEMORY_FACTOR = 16;

/** Spool bytes a half may add, in multiples of its body (its document, its pair's predictions). */
const HALF_SPOOL_FACTOR = 8;

/** Memory a JSON / NDJSON body may hold, in multiples of it: the text, the parsed events, one document. */
const EVENTS_MEMORY_FACTOR = 4;

function isCloudEventRoute(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0];
  return path === '/' || path === '/v1/events';
}

/** Auth, then a reservation sized by the declared body length (429 before the body is read). */
async function admit(ctx: Context, request: FastifyRequest, reply: FastifyReply, auth: TokenCheck) {
  if (request.method !== 'POST') return;
  if (!auth.allows(request.headers)) {
    ctx.metrics.rejected.inc({ reason: 'unauthorized' });
    // The same answer for a missing and a wrong token.
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="mlmon"')
      .send({ error: 'unauthorized', code: 'unauthorized' });
  }
  const limit = ctx.settings.bodyLimit;
  const length = Number(request.headers['content-length'] ?? limit);
  // A gzip body may decode to the body limit whatever its declared length.
  const encoded = request.headers['content-encoding'] !== undefined;
  const bytes = encoded ? limit : Math.min(Number.isFinite(length) ? length : limit, limit);
  const halves = isCloudEventRoute(request);
  // Disk: what may end up in the spool (a half's document and its pair's predictions).
  const estimate = (halves ? HALF_SPOOL_FACTOR : 2) * bytes;
  if (ctx.budget.over(estimate) || !ctx.budget.reserve(request, estimate)) return backpressure(ctx, reply);
  // Memory for the request's whole life, reserved before its body is read.
  if (!ctx.memory.admit(request, (halves ? HALF_MEMORY_FACTOR : EVENTS_MEMORY_FACTOR) * bytes)) {
    ctx.budget.release(request);
    return memoryPressure(ctx, reply);
  }
}

/** Fastify's own errors as one-line answers: 413 and 415 by name, other 4xx as they are. */
function answerError(
  ctx: Context,
  error: Error & { code?: string; statusCode?: number },
  reply: FastifyReply,
) {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return refuse(
      ctx,
      reply,
      413,
      'too_large',
      `the body is larger than the limit of ${ctx.settings.bodyLimit} bytes`,
    );
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return refuse(
      ctx,
      reply,
      415,
      'unsupported_media_type',
      `unsupported content type; send ${JSON_TYPES.slice(0, 2).join(' or ')}`,
    );
  const status =
    error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  return refuse(
    ctx,
    reply,
    status,
    status === 500 ? 'internal' : 'bad_request',
    error.message.replace(/\s+/g, ' ').slice(0, 300),
  );
}

/** `POST /v1/predictions` and `/v1/outcomes`: mlmon's own events, JSON or NDJSON. */
const ingest = (ctx: Context, kind: EventKind) => async (request: FastifyRequest, reply: FastifyReply) => {
  const { core, metrics } = ctx;
  const text = typeof request.body === 'string' ? request.body : '';
  let parsed;
  try {
    parsed = parseEvents(text, isNdjson(request.headers['content-type']), kind, ctx.rules);
  } catch (error) {
    if (error instanceof BodyError) return refuse(ctx, reply, error.status, error.code, error.message);
    throw error;
  }
  metrics.received.inc({ kind }, parsed.events.length + parsed.rejected.length);
  for (const r of parsed.rejected) metrics.rejected.inc({ reason: r.code });
  // Now that the events are counted, reserve what their documents may take: every document
  // carries ~400 bytes the event does not (data_stream, event.*, the spool line's head).
  if (!ctx.budget.reserve(request, 2 * text.length + EVENT_OVERHEAD * parsed.events.length))
    return backpressure(ctx, reply);
  const entries: DurableEntry[] = parsed.events.map((event) =>
    kind === 'prediction' ? { kind, event } : { kind, event, id: outcomeId(event) },
  );
  const { ids, durable } = core.logDurably(entries);
  const result = await durable;
  metrics.stored.inc({ kind }, result.indexed);
  metrics.spooled.inc({ kind }, result.spooled);
  metrics.deadLettered.inc({ kind }, result.deadLettered);
  const answer = durableAnswer(result);
  const rejected = parsed.rejected.map((r) => ({ [parsed.unit]: r.at, reason: r.reason }));
  if (!answer.ok) {
    reply.header('retry-after', '10');
    return reply.code(503).send({
      error: 'the spool is full or unusable: not every event is durable; retry',
      code: 'not_durable',
      ids,
      ...answer.body,
      rejected,
    });
  }
  if (parsed.rejected.length > 0) {
    const first = parsed.rejected[0] as { at: number; reason: string };
    metrics.rejected.inc({ reason: 'partial_batch' });
    return reply.code(400).send({
      error: `${parsed.rejected.length} of ${parsed.rejected.length + parsed.events.length} ${parsed.unit}s rejected; first: ${parsed.unit} ${first.at}: ${first.reason}`,
      code: 'invalid_events',
      accepted: ids.length,
      ids,
      ...answer.body,
      rejected,
    });
  }
  if (held(ctx, result))
    return reply
      .code(202)
      .send({ status: 'held', reason: HELD_REASON, accepted: ids.length, ids, ...answer.body });
  return reply.code(200).send({ accepted: ids.length, ids, ...answer.body });
};

/** One CloudEvent of a KServe or Seldon logger (binary or structured mode): a half, or feedback. */
const cloudEvent = (ctx: Context) => async (request: FastifyRequest, reply: FastifyReply) => {
  const { metrics } = ctx;
  let event;
  try {
    event = readCloudEvent(
      request.raw.headersDistinct,
      typeof request.body === 'string' ? request.body : '',
      ctx.settings,
      ctx.rules,
    );
  } catch (error) {
    if (error instanceof CloudEventError) return refuse(ctx, reply, error.status, error.code, error.message);
    throw error;
  }
  metrics.received.inc({ kind: `${event.source}.${event.role}` });
  if (event.role === 'feedback') {
    let outcomes;
    try {
      outcomes = feedbackOutcomes(event, mappingFor(ctx.settings.mappings, event));
    } catch (error) {
      if (error instanceof PayloadError) return refuse(ctx, reply, 400, 'invalid_payload', error.message);
      throw error;
    }
    const { ids, durable } = ctx.core.logDurably(
      outcomes.map((o) => ({
        kind: 'outcome' as const,
        event: o,
        id: outcomeId(o as unknown as Record<string, unknown>),
      })),
    );
    const result = await durable;
    return answerDurable(ctx, reply, 'outcome', result, {
      status: 'stored',
      outcomes: ids,
      predictions: outcomes.map((o) => o.id),
    });
  }
  // Halves in flight in this replica (their bodies are in its memory): a bound of its own, on this
  // route only, with its own message.
  if (ctx.pairs.inFlight >= (ctx.settings.maxPendingPairs ?? 10_000)) {
    reply.header('retry-after', '1');
    return refuse(
      ctx,
      reply,
      429,
      'halves_in_flight',
      `${ctx.pairs.inFlight} KServe/Seldon events are being written by this replica (collector.maxPendingPairs); retry`,
    );
  }
  const outcome = await ctx.pairs.offer(event);
  if (outcome.durable)
    return answerDurable(ctx, reply, 'prediction', outcome.durable, {
      status: outcome.status,
      id: event.key,
      ids: outcome.ids ?? [],
      reason: outcome.reason,
    });
  return reply.code(200).send({ status: outcome.status, id: event.key, ids: [] });
};

/** Counts what a durable result stored, spooled and dead-lettered, in /metrics. */
function countDurable(metrics: CollectorMetrics, kind: string, durable: Durability): void {
  metrics.stored.inc({ kind }, durable.indexed);
  metrics.spooled.inc({ kind }, durable.spooled);
  metrics.deadLettered.inc({ kind }, durable.deadLettered);
}

/** Counts a durable result and answers 200, or 503 when something was not made durable. */
function answerDurable(
  ctx: Context,
  reply: FastifyReply,
  kind: string,
  durable: Durability,
  body: Record<string, unknown>,
) {
  countDurable(ctx.metrics, kind, durable);
  if (durable.dropped > 0) {
    reply.header('retry-after', '10');
    return reply
      .code(503)
      .send({ error: 'the spool is full or unusable: not durable; retry', code: 'not_durable' });
  }
  if (held(ctx, durable)) return reply.code(202).send({ ...body, status: 'held', reason: HELD_REASON });
  return reply.code(200).send(body);
}

/**
 * `content-encoding` gzip, deflate or br: the body is decoded while it is read (the body limit
 * applies to the decoded bytes); any other encoding is refused with 415.
 */
function decodeBody(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream & { receivedEncodedLength?: number },
) {
  const encoding = String(request.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (encoding === '' || encoding === 'identity') return payload;
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder)
    throw Object.assign(
      new Error(`unsupported content-encoding "${encoding}"; send gzip, deflate, br or none`),
      {
        statusCode: 415,
        code: 'unsupported_encoding',
      },
    );
  // Fastify checks content-length against the bytes received: count the encoded ones.
  const counted = decoder as Transform & { receivedEncodedLength?: number };
  counted.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    counted.receivedEncodedLength = (counted.receivedEncodedLength ?? 0) + chunk.length;
  });
  decoder.on('error', (error: Error & { statusCode?: number }) => {
    error.statusCode = 400;
    error.message = `the ${encoding} body cannot be decoded: ${error.message}`;
  });
  payload.pipe(decoder);
  return counted;
}

export async function startCollector(options: CollectorOptions): Promise<Collector> {
  const settings: Resolved = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8787,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    tokens: options.tokens ?? [],
    pairTimeoutMs: options.pairTimeoutMs ?? 30_000,
    maxPendingPairs: options.maxPendingPairs ?? 10_000,
    memoryBudget: options.memoryBudget ?? DEFAULT_MEMORY_BUDGET,
    namespaceInModelName: options.namespaceInModelName ?? true,
    models: options.models,
    defaultModel: options.defaultModel,
    mappings: options.mappings ?? [],
  };
  const loggerOptions: PredictionLoggerOptions = { ...options.logger };
  loggerOptions.model ??= settings.defaultModel;
  // The logger core is half of the memory budget: its buffer holds up to twice bufferMaxBytes
  // before spilling to the spool (a quarter of the budget), and each bulk request in flight holds
  // its documents about three times (the items, the NDJSON body, its bytes on the socket) (another
  // quarter). Requests in flight get the other half.
  const share = settings.memoryBudget / 4;
  loggerOptions.bufferMaxBytes ??= Math.min(16 * 2 ** 20, Math.floor(share / 2));
  loggerOptions.batchMaxBytes ??= Math.min(
    2 * 2 ** 20,
    Math.floor(share / (3 * (loggerOptions.concurrency ?? 4))),
  );
  const spoolDir = loggerOptions.spool === false ? undefined : (loggerOptions.spool?.dir ?? '.mlmon-spool');
  const core = new LoggerCore(loggerOptions);
  const bufferMax = loggerOptions.bufferMaxBytes ?? 16 * 1024 * 1024;
  const spoolMax = loggerOptions.spool === false ? 0 : (loggerOptions.spool?.maxBytes ?? 512 * 1024 * 1024);
  const metrics = new CollectorMetrics(core);
  const pairs = new PairStore({
    index: pairsIndex(core.namespace),
    timeoutMs: settings.pairTimeoutMs,
    core,
    mappings: settings.mappings,
    defaultModel: settings.defaultModel,
    onWarning: loggerOptions.onWarning ?? ((m) => process.emitWarning(m, 'MlmonWarning')),
    bufferBytes: loggerOptions.bufferMaxBytes,
    namespaceInModelName: settings.namespaceInModelName,
    // Requests of halves to Elasticsearch copy what the requests' reservations hold (the `_bulk`
    // body, the text of an `_mget` answer); at most five are out at once (two `_bulk`, two
    // `_mget`, a sweep's `_mget`): 8 MiB each under the default budget, 5/32 of a smaller one.
    maxRequestBytes: Math.min(8 * 2 ** 20, Math.floor(settings.memoryBudget / 32)),
    onSwept: (swept) => {
      metrics.swept(swept);
    },
    hold: (bytes) => {
      const owner = {};
      return memory.admit(owner, HALF_MEMORY_FACTOR * bytes) ? () => memory.release(owner) : undefined;
    },
    onSettled: (outcome) => {
      if (outcome.durable) countDurable(metrics, 'prediction', outcome.durable);
    },
  });
  pairs.open();
  const readiness = new Readiness(core.client, credentialName(options.logger));
  const ctx: Context = {
    core,
    metrics,
    rules: {
      models: settings.models ? new Set(settings.models) : undefined,
      defaultModel: core.context.model.name,
    },
    settings,
    budget: new Budget(core, spoolMax > 0 ? spoolMax : bufferMax),
    memory: new MemoryBudget({
      limit: settings.memoryBudget,
      // The logger core's half (see above): its buffer and its bulk requests in flight.
      held: () => core.shipper.bufferedBytes + settings.memoryBudget / 4,
      quiet: () => core.shipper.bufferedBytes === 0,
    }),
    pairs,
  };
  const { budget, memory } = ctx;
  metrics.watchMemory(memory);
  const auth = new TokenCheck(settings.tokens);

  const app = Fastify({
    bodyLimit: settings.bodyLimit,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: options.requestTimeoutMs ?? 30_000,
  });
  app.addHook('preParsing', async (request, _reply, payload) => decodeBody(request, payload));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', (request, reply) => admit(ctx, request, reply, auth));
  // A client that goes away before its answer releases its reservation too.
  app.addHook('onRequestAbort', async (request) => {
    budget.release(request);
    memory.release(request);
  });
  app.addHook('onResponse', async (request, reply) => {
    budget.release(request);
    memory.release(request);
    metrics.latency.observe(
      { route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, _request, reply) =>
    answerError(ctx, error, reply),
  );

  app.get('/healthz', async () => ({ status: 'up' }));
  app.get('/readyz', async (_request, reply) => {
    // Asked of Elasticsearch itself (cached 2 s): "up" only after an answer, and refused
    // credentials are named. Unreachable with a usable spool is still ready (a 2xx then means
    // spooled); refused credentials are not: nothing would ever be delivered.
    const es = await readiness.check();
    const canSpool = spoolDir !== undefined && core.shipper.spoolBytes < spoolMax;
    const ready = es.state === 'up' || (es.state === 'unreachable' && canSpool);
    return reply.code(ready ? 200 : 503).send({
      ready,
      elasticsearch: es.state,
      ...(es.reason ? { reason: es.reason } : {}),
      spool: canSpool ? 'usable' : 'unavailable',
    });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.post('/v1/predictions', ingest(ctx, 'prediction'));
  app.post('/v1/outcomes', ingest(ctx, 'outcome'));
  // CloudEvents in binary mode (KServe and Seldon inference loggers): any content type.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post('/v1/events', cloudEvent(ctx));
    scope.post('/', cloudEvent(ctx));
  });

  await app.listen({ host: settings.host, port: settings.port });
  memory.markIdle();
  memory.watch();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;

  let closing: Promise<CollectorSummary> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    core,
    metrics,
    app,
    pairs,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        memory.unwatch();
        const pairSummary = await pairs.close();
        const counters = await core.close();
        return { counters, spoolDir, spoolBytes: core.shipper.spoolBytes, pairs: pairSummary };
      })()),
  };
}
