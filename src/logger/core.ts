/**
 * The logger's core, shared by `createPredictionLogger()` and `MlmonTransport`: options, document
 * building on the caller's path (cheap, never throws), and the shipper behind it.
 *
 * Length: Over 450 lines on purpose: most of it is the options' documented types, which a service
 * author reads here beside the three entry points (logPrediction, logOutcome, logDurably).
 */
import type { Client } from '@elastic/elasticsearch';
import { createClient, type ConnectionOptions } from '../elastic/client.js';
import { installTemplates, TemplateDowngradeError } from '../elastic/templates.js';
import { uuidv7 } from '../schema/id.js';
import {
  dataStreamFields,
  DEFAULT_NAMESPACE,
  logStream,
  processStream,
  type DataStreamFields,
} from '../schema/streams.js';
import {
  DEFAULT_LIMITS,
  isUsableId,
  keyword,
  read,
  safeJson,
  type NormalizeLimits,
} from '../schema/normalize.js';
import {
  buildOutcomeDocument,
  buildPredictionDocument,
  compileSchema,
  type DocumentContext,
  type FeatureSchema,
  type ModelRef,
  type OutcomeEvent,
  type PredictionEvent,
  type ServiceRef,
} from '../schema/prediction.js';
import { Kind, SHIPPER_DEFAULTS, Shipper, type CloseResult, type Counters } from './shipper.js';
import { ResourceSampler } from './sampler.js';
import type { FsyncPolicy } from './spool.js';
import { Ack, type Durability } from './ack.js';
import type { DeadLetterReason } from '../schema/deadletter.js';

export type { Durability };

/** One event for {@link LoggerCore.logDurably}. */
export type DurableEntry =
  | { kind: 'prediction'; event: unknown }
  /** `id`: the outcome document's own `_id` (deterministic, so a re-sent outcome is stored once). */
  | { kind: 'outcome'; event: unknown; id?: string }
  /** An event that will never become a document (e.g. half of an inference that never paired). */
  | { kind: 'deadletter'; id: string; original: string; reason: DeadLetterReason };

export interface SpoolSettings {
  /** Directory for spool files (default `.mlmon-spool` in the working directory). */
  dir?: string;
  /** Cap on the spool's size on disk, bytes (default 512 MiB); beyond it, drop and count. */
  maxBytes?: number;
  /** Size at which a spool file is closed and a new one begun (default 4 MiB). */
  fileMaxBytes?: number;
  /** When spooled data is fsynced: `always`, `interval` (default) or `never`. See docs/logger.md. */
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /**
   * A spool's owner whose lock has not been touched for this long is taken for gone and its files
   * are replayed by another logger on the same directory (default 30 s; docs/logger.md, "Running
   * in Kubernetes"). A lock beats every third of it.
   */
  staleMs?: number;
}

export interface PredictionLoggerOptions extends Omit<ConnectionOptions, 'node'> {
  /** Cluster URL (default `ES_URL`) or an `@elastic/elasticsearch` client instance. */
  node?: string | Client;
  /** Data stream namespace (default `default`). */
  namespace?: string;
  /** The model whose predictions this logger records (an event may override it). */
  model?: ModelRef;
  /** ECS service fields added to every document. */
  service?: ServiceRef;
  /** Declared feature schema: events are tagged with `mlmon.quality.*` against it. */
  schema?: FeatureSchema;
  /** Normalisation limits (docs/logger.md). */
  limits?: Partial<NormalizeLimits>;
  /** Memory buffer, bytes of serialised documents (default 16 MiB); past it, spill to the spool. */
  bufferMaxBytes?: number;
  /** Bulk request caps (default 2 MiB and 10,000 documents). */
  batchMaxBytes?: number;
  batchMaxItems?: number;
  /** Longest a document waits in memory before a bulk request (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Bulk requests in flight at once (default 4). */
  concurrency?: number;
  /** Timeout of one bulk request (default 30 s). */
  requestTimeoutMs?: number;
  /** Retry backoff: first retry after about `retryBaseMs` (250 ms), doubling to `retryMaxMs` (10 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Disk spool settings, or false for none (then a full buffer drops and counts). */
  spool?: SpoolSettings | false;
  /**
   * How long `close()` keeps trying to deliver before spooling the rest (default 10 s; `Infinity`
   * waits until everything is delivered or dead-lettered). Finite by default so that a service
   * shutting down within its orchestrator's grace period still exits; what is left is on disk, and
   * `close()` says so (`pending`, and one warning naming the spool directory). `close({ timeoutMs })`
   * overrides it for one call.
   */
  closeTimeoutMs?: number;
  /** One warning per kind per interval (default 60 s). */
  warnIntervalMs?: number;
  /** Where warnings go (default `process.emitWarning`). Must not throw; if it does, it is ignored. */
  onWarning?: (message: string) => void;
  /**
   * Sample the process's CPU, memory and event-loop lag into `metrics-mlmon.process-{ns}` every
   * `intervalMs` (default 10 s): `true` or `{ intervalMs }` turns it on; off by default.
   */
  sampleResources?: { intervalMs?: number } | boolean;
  /**
   * Before the first write, install mlmon's index templates when the cluster has none (default
   * true). Without them, the first document would create an index with guessed mappings. Set false
   * when the service's credentials may not manage templates and `mlmon setup` runs elsewhere.
   */
  ensureTemplates?: boolean;
}

/** `default`, or the namespace made valid: lower case, `[a-z0-9_]`, at most 100 characters. */
export function normalizeNamespace(ns: unknown): string {
  if (typeof ns !== 'string' || ns.length === 0) return DEFAULT_NAMESPACE;
  const cleaned = ns
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 100);
  return cleaned.replace(/_/g, '').length === 0 ? DEFAULT_NAMESPACE : cleaned;
}

const PREDICTION = 0;
const OUTCOME = 1;
/**
 * Deferred events past which the caller's own call builds them (a caller logging in a long
 * synchronous loop never lets the event loop turn; this bounds the memory that can take).
 */
const MAX_PENDING = 4096;

interface Pending {
  kind: number;
  id: string;
  now: number;
  event: unknown;
}

/**
 * A shallow copy of the event and of its `features` (when that is a plain object), so that a caller
 * who reuses or mutates those objects after logging does not change what is logged. Deeper objects
 * are read when the document is built, on the next turn of the event loop.
 */
function snapshot(event: object): object {
  const copy: Record<string, unknown> = { ...(event as Record<string, unknown>) };
  const features = copy.features;
  if (typeof features === 'object' && features !== null && !Array.isArray(features)) {
    const proto = Object.getPrototypeOf(features) as unknown;
    if (proto === Object.prototype || proto === null) copy.features = { ...(features as object) };
  }
  return copy;
}

/**
 * An id as the documents carry it: a safe integer (a database key) as its decimal text, so that
 * `logPrediction({ id: 42 })` and `logOutcome({ id: 42 })` join on "42"; anything else unchanged
 * (the builders judge it). Integers past 2^53 are not taken: their text would not be the caller's.
 */
function idText(raw: unknown): unknown {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? String(raw) : raw;
  return typeof raw === 'bigint' ? raw.toString() : raw;
}

/** The event with a numeric id as text (a shallow copy then; the caller's object is not touched). */
function withTextId(event: unknown): unknown {
  if (typeof event !== 'object' || event === null) return event;
  const raw = read(event, 'id');
  if (typeof raw !== 'number' && typeof raw !== 'bigint') return event;
  return { ...(event as Record<string, unknown>), id: idText(raw) };
}

function defaultWarn(message: string): void {
  process.emitWarning(message, 'MlmonWarning');
}

export class LoggerCore {
  readonly namespace: string;
  readonly predictionIndex: string;
  readonly outcomeIndex: string;
  readonly deadLetterIndex: string;
  /** Where resource samples go (`sampleResources`). */
  readonly processIndex: string;
  readonly client: Client | undefined;
  /** True when this logger created `client` (from a URL) and so must close it in `close()`. */
  readonly ownsClient: boolean = false;
  readonly shipper: Shipper;
  readonly context: DocumentContext;
  readonly closeTimeoutMs: number;
  private sampler: ResourceSampler | undefined;
  /** `data_stream` of the prediction and outcome documents: built once, shared by every document. */
  private readonly predictionStream: DataStreamFields | undefined;
  private readonly outcomeStream: DataStreamFields | undefined;
  private pending: Pending[] = [];
  private drainScheduled = false;
  private closing: Promise<CloseResult> | undefined;

  constructor(options: PredictionLoggerOptions = {}) {
    const warn = options.onWarning ?? defaultWarn;
    this.namespace = normalizeNamespace(options.namespace);
    if (options.namespace !== undefined && this.namespace !== options.namespace)
      warn(`mlmon: namespace ${JSON.stringify(options.namespace)} is not valid; using ${this.namespace}`);
    this.predictionIndex = logStream('prediction', this.namespace);
    this.outcomeIndex = logStream('outcome', this.namespace);
    this.deadLetterIndex = logStream('deadletter', this.namespace);
    this.processIndex = processStream(this.namespace);
    this.predictionStream = dataStreamFields(this.predictionIndex);
    this.outcomeStream = dataStreamFields(this.outcomeIndex);
    let client: Client | undefined;
    try {
      client = createClient({ ...options, node: options.node, maxRetries: 0 });
      // A client the caller passed in is theirs to close; one built here from a URL is ours.
      this.ownsClient = client !== options.node;
    } catch (error) {
      warn(
        `mlmon: ${(error as Error).message} Predictions go to the spool until a logger with a URL replays it.`,
      );
    }
    this.client = client;
    const modelName = keyword(read(options.model, 'name'), 256);
    if (!modelName) warn('mlmon: no model name configured (options.model.name); using "unknown"');
    const modelVersion = keyword(read(options.model, 'version'), 256);
    const model: ModelRef = { name: modelName ?? 'unknown' };
    if (modelVersion) model.version = modelVersion;
    const service: ServiceRef = {};
    const serviceName = keyword(read(options.service, 'name'), 256);
    const environment = keyword(read(options.service, 'environment'), 256);
    if (serviceName) service.name = serviceName;
    if (environment) service.environment = environment;
    this.context = {
      model,
      service: serviceName || environment ? service : undefined,
      schema: compileSchema(options.schema),
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    const d = SHIPPER_DEFAULTS;
    const spool = options.spool === false ? false : { ...d.spool, ...options.spool };
    this.closeTimeoutMs = closeTimeout(options.closeTimeoutMs, 10_000);
    this.shipper = new Shipper({
      client,
      bufferMaxBytes: options.bufferMaxBytes ?? d.bufferMaxBytes,
      batchMaxBytes: options.batchMaxBytes ?? d.batchMaxBytes,
      batchMaxItems: options.batchMaxItems ?? d.batchMaxItems,
      flushIntervalMs: options.flushIntervalMs ?? d.flushIntervalMs,
      concurrency: options.concurrency ?? d.concurrency,
      requestTimeoutMs: options.requestTimeoutMs ?? d.requestTimeoutMs,
      retryBaseMs: options.retryBaseMs ?? d.retryBaseMs,
      retryMaxMs: options.retryMaxMs ?? d.retryMaxMs,
      spool,
      deadLetterIndex: this.deadLetterIndex,
      warnIntervalMs: options.warnIntervalMs ?? d.warnIntervalMs,
      warn,
      prepare: options.ensureTemplates === false ? undefined : ensureTemplates,
    });
    this.shipper.beforeCycle = () => this.drain();
    if (options.sampleResources) {
      const intervalMs =
        typeof options.sampleResources === 'object' ? (options.sampleResources.intervalMs ?? 10_000) : 10_000;
      const dataStream = dataStreamFields(this.processIndex);
      this.sampler = new ResourceSampler(intervalMs, (doc) => {
        doc.model = this.context.model;
        if (this.context.service) doc.service = this.context.service;
        doc.data_stream = dataStream;
        this.logDocument(this.processIndex, doc);
      });
    }
  }

  get counters(): Counters {
    return this.shipper.counters;
  }

  /**
   * Logs one prediction; returns its id. Never throws.
   *
   * On the caller's path this only picks the id, reads the clock, takes a shallow snapshot of the
   * event and of its `features`, and appends to an array. Normalising and serialising happen on the
   * next turn of the event loop (or in the flush cycle), like pino's asynchronous mode.
   */
  logPrediction(event: PredictionEvent | unknown): string {
    const now = Date.now();
    const raw = idText(read(event, 'id'));
    const id = isUsableId(raw) ? raw : uuidv7(now);
    this.defer(PREDICTION, id, now, event);
    return id;
  }

  /** Logs delayed ground truth for a prediction; returns the outcome document's own id. Never throws. */
  logOutcome(event: OutcomeEvent | unknown): string {
    const now = Date.now();
    const id = uuidv7(now);
    this.defer(OUTCOME, id, now, event);
    return id;
  }

  private defer(kind: number, id: string, now: number, event: unknown): void {
    this.shipper.counters.accepted++;
    let snap = event;
    if (typeof event === 'object' && event !== null) {
      try {
        snap = snapshot(event);
      } catch {
        // A hostile object (throwing getter, proxy): build now, with the guarded reads of the builder.
        this.build(kind, id, now, event);
        return;
      }
    }
    const pending = this.pending;
    pending.push({ kind, id, now, event: snap });
    if (pending.length === 1) {
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        setImmediate(this.drainNow);
      }
    } else if (pending.length >= MAX_PENDING) this.drain();
  }

  private readonly drainNow = () => {
    this.drainScheduled = false;
    this.drain();
  };

  /** Builds the deferred documents and hands them to the shipper. Never throws. */
  drain(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i] as Pending;
      this.build(p.kind, p.id, p.now, p.event);
    }
  }

  /**
   * Logs events for a caller that must know when they are durable (`mlmon collect`, which answers
   * 2xx only then): the documents are built at once and a flush cycle is started; `durable` resolves
   * when each is indexed (or already there), dead-lettered, or fsynced in the spool — or dropped
   * (spool full), counted in the result. Never throws, never rejects.
   */
  logDurably(entries: readonly DurableEntry[]): { ids: string[]; durable: Promise<Durability> } {
    const ack = new Ack();
    const ids: string[] = [];
    const now = Date.now();
    for (const entry of entries) {
      this.shipper.counters.accepted++;
      if (entry.kind === 'deadletter') {
        ids.push(entry.id);
        try {
          this.shipper.enqueueDeadLetter(
            entry.id,
            this.predictionIndex,
            entry.original,
            entry.reason,
            this.context.model,
            true,
            ack,
          );
        } catch {
          this.shipper.counters.dropped++;
        }
        continue;
      }
      const raw = idText(read(entry.event, 'id'));
      const id =
        entry.kind === 'outcome'
          ? isUsableId(entry.id)
            ? entry.id
            : uuidv7(now)
          : isUsableId(raw)
            ? raw
            : uuidv7(now);
      ids.push(id);
      this.build(entry.kind === 'prediction' ? PREDICTION : OUTCOME, id, now, entry.event, ack);
    }
    ack.seal();
    this.shipper.kick();
    return { ids, durable: ack.done };
  }

  private build(kind: number, id: string, now: number, given: unknown, ack?: Ack): void {
    const target = kind === PREDICTION ? this.predictionIndex : this.outcomeIndex;
    let event = given;
    try {
      event = withTextId(given);
      const built =
        kind === PREDICTION
          ? buildPredictionDocument(event, id, now, this.context)
          : buildOutcomeDocument(event, now, this.context);
      if (built.ok) {
        built.doc.data_stream = kind === PREDICTION ? this.predictionStream : this.outcomeStream;
        this.shipper.enqueue(target, id, JSON.stringify(built.doc), Kind.Document, true, ack);
      } else this.rejectEvent(id, target, event, built.reason, ack);
    } catch (error) {
      this.failed(id, target, event, error, ack);
    }
  }

  /** Queues a finished document (resource samples); it should carry the target's `data_stream`. */
  logDocument(index: string, doc: Record<string, unknown>): void {
    try {
      this.shipper.enqueue(index, uuidv7(), JSON.stringify(doc));
    } catch {
      // A sample is not worth a warning.
    }
  }

  private rejectEvent(id: string, target: string, event: unknown, reason: string, ack?: Ack): void {
    this.shipper.enqueueDeadLetter(
      id,
      target,
      safeJson(event),
      { type: 'mlmon_invalid_event', message: reason, stage: 'normalize' },
      this.context.model,
      true,
      ack,
    );
  }

  /** Building threw (a bug, or an input beyond what read() guards): dead-letter it with the reason. */
  private failed(id: string, target: string, event: unknown, error: unknown, ack?: Ack): string {
    try {
      this.shipper.enqueueDeadLetter(
        id,
        target,
        safeJson(event),
        {
          type: 'mlmon_normalization_exception',
          message: `normalising the event failed: ${(error as Error)?.message ?? safeJson(error, 1024)}`,
          stage: 'normalize',
        },
        this.context.model,
        true,
        ack,
      );
    } catch {
      this.shipper.counters.dropped++;
    }
    return id;
  }

  flush(timeoutMs?: number): Promise<boolean> {
    this.drain();
    return this.shipper.flush(timeoutMs);
  }

  /**
   * Delivers what it can within `timeoutMs` (default `closeTimeoutMs`), spools the rest and stops.
   * Idempotent: a second call resolves with the first call's result (its timeout is not used).
   */
  close(options: CloseOptions = {}): Promise<CloseResult> {
    this.closing ??= (async () => {
      this.sampler?.stop(true);
      this.drain();
      const timeoutMs = closeTimeout(options.timeoutMs, this.closeTimeoutMs);
      const counters = await this.shipper.close(timeoutMs);
      // Its keep-alive sockets would otherwise stay open until the server drops them.
      if (this.ownsClient && this.client) {
        try {
          await this.client.close();
        } catch {
          // Already closed, or the sockets are gone: nothing left to release.
        }
      }
      return counters;
    })();
    return this.closing;
  }
}

export interface CloseOptions {
  /** How long to keep trying to deliver (default the logger's `closeTimeoutMs`); Infinity: until done. */
  timeoutMs?: number;
}

/** A usable timeout (a number ≥ 0, Infinity allowed), else the fallback. */
function closeTimeout(given: unknown, fallback: number): number {
  return typeof given === 'number' && given >= 0 ? given : fallback;
}

/** Installs the templates when the prediction template is missing; a newer set is left alone. */
async function ensureTemplates(client: Client): Promise<void> {
  let present: boolean;
  try {
    present = await client.indices.existsIndexTemplate({ name: 'mlmon-prediction' });
  } catch (error) {
    throw new Error(`could not check mlmon's index templates (${(error as Error).message})`);
  }
  if (present) return;
  try {
    await installTemplates(client);
  } catch (error) {
    if (!(error instanceof TemplateDowngradeError))
      throw new Error(`could not install mlmon's index templates (${(error as Error).message})`);
  }
}
