/**
 * Pairing the request and response events of one inference (KServe, Seldon) through
 * Elasticsearch, so that any number of `mlmon collect` replicas behind a Service pair correctly:
 * KServe's agent posts the two halves separately, from any worker, so they land on any replica,
 * in any order, any number of times.
 *
 * - Each half is written to the regular index `mlmon-pairs-{ns}` with `create` and a
 *   deterministic `_id` (`<pair key>.<role>`; the pair key is a hash of the whole inference
 *   identity, {@link pairKey}): directly, in one `_bulk` with the halves of concurrent requests
 *   ({@link MicroBatcher}), or through the logger core when that fails (retries, spool). It is
 *   acknowledged only once indexed (a 409 means an earlier copy is there) or fsynced in the spool.
 *   The partners are read with one `_mget` per batch, and the deletes ride in the next `_bulk`:
 *   a pair costs round trips per batch of concurrent halves, not per half.
 * - The replica reads the other half by `_id` (a realtime GET: it sees every acknowledged write,
 *   refreshed or not): once while its own half is written (found: the pair is stored before the
 *   answer, `paired`), and, when that found nothing, again after the write: after the answer
 *   (`pending`), when the memory budget lets the replica hold the half meanwhile. Of two replicas
 *   writing the two halves at once, at least one sees the other's, since each reads again only
 *   after its own write is acknowledged. Whoever finds both stores the prediction(s) with `create`
 *   and deterministic ids: two replicas completing the same pair store it once (the second gets a
 *   409, "already there").
 * - A sweep, run by every replica, takes the halves older than `timeoutMs`: a pair found complete
 *   is completed (idempotently); a request alone becomes a prediction without output (same ids, so
 *   a late full prediction and it are stored once); a response alone goes to the dead letters
 *   with its body (once: a deterministic id), unless its prediction is already stored (a re-sent
 *   response). Then the halves are deleted. Several replicas sweeping the same halves store the
 *   same documents with the same ids: once.
 * - Memory: no request to Elasticsearch carries more than `maxRequestBytes` of halves (8 MiB by
 *   default; one half or one pair over it goes alone): a `_bulk` of halves is cut by bytes, an
 *   `_mget` answer is read up to that size (a larger one is dropped and asked again in parts), and
 *   the sweep searches for keys and versions only, then reads the bodies a group of pairs at a
 *   time, settling each group before reading the next. It settles a pair only when the halves the
 *   search found are still there at the versions it found (else the next sweep does).
 *
 * No replica-local state decides whether a prediction is stored.
 */
import { createHash } from 'node:crypto';
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import type { Durability, DurableEntry, LoggerCore } from '../logger/core.js';
import { Ack } from '../logger/ack.js';
import { Kind } from '../logger/shipper.js';
import type { CollectorMapping } from '../schema/config.js';
import type { ModelRef, PredictionEvent } from '../schema/prediction.js';
import { readTime } from '../schema/time.js';
import { MicroBatcher } from './batcher.js';
import { mappingFor, nodeModelName, type Half } from './cloudevents.js';
import { PayloadError, requestRows, responseOutputs, rowPrediction } from './tensors.js';

export interface PairStoreOptions {
  /** `mlmon-pairs-{ns}`. */
  index: string;
  timeoutMs: number;
  core: LoggerCore;
  mappings: readonly CollectorMapping[];
  defaultModel?: ModelRef;
  onWarning: (message: string) => void;
  /** Called with what a sweep stored (for the metrics). */
  onSwept?: (swept: SweepResult) => void;
  /** The logger core's buffer size (bufferMaxBytes): a large pair's expansion waits above it. */
  bufferBytes?: number;
  /** `collector.namespaceInModelName` (default true): model names `<k8s namespace>/<name>`. */
  namespaceInModelName?: boolean;
  /**
   * Reserves memory for a half paired after its answer (`bytes`: the half as stored, JSON); returns
   * the release, or undefined when the budget has no room (the answer then waits for the pairing).
   * Without it, every answer waits for its pairing.
   */
  hold?: (bytes: number) => (() => void) | undefined;
  /** Called with the outcome of a pairing that ran after its half was answered (for the metrics). */
  onSettled?: (outcome: PairOutcome) => void;
  /**
   * Bytes of halves one request to Elasticsearch carries at most: a `_bulk` of halves, the answer
   * to one `_mget` (default {@link HALVES_MAX_BYTES}; a single half over it goes alone).
   */
  maxRequestBytes?: number;
}

export interface PairOutcome {
  /**
   * `pending`: this half is stored in Elasticsearch and waits for its partner; `spooled`: it is in
   * this replica's spool (Elasticsearch unreachable) and is paired once replayed; `paired`: both
   * halves exist and the prediction(s) are durable; `dead-lettered`: the pair (or the half) cannot
   * become a prediction and is kept as a dead letter; `not-durable`: nothing may be acknowledged.
   */
  status: 'pending' | 'spooled' | 'paired' | 'dead-lettered' | 'not-durable';
  ids?: string[];
  durable?: Durability;
  reason?: string;
}

export interface SweepResult {
  /** Halves older than the wait that this sweep settled. */
  halves: number;
  paired: number;
  requestsAlone: number;
  deadLettered: number;
  /** Halves in the pairs index at the sweep (all replicas), when it could be counted. */
  waiting?: number;
}

export interface PairSummary {
  index: string;
}

/** The stored form of a half in the pairs index. */
interface HalfDoc {
  pair: { key: string; role: Half['role']; source: Half['source']; received_at: string; half: Half };
}

/**
 * The identity of one inference at one node: source, Kubernetes namespace, service, component,
 * endpoint, Seldon model id and the event id. Hashed: ids may be long and any UTF-8.
 */
export function pairKey(half: Half): string {
  const identity = JSON.stringify([
    half.source,
    half.namespace ?? null,
    half.service ?? null,
    half.component ?? null,
    half.endpoint ?? null,
    half.modelId ?? null,
    half.key,
  ]);
  return createHash('sha256').update(identity).digest('hex').slice(0, 40);
}

/**
 * The prediction id of a node's inference: the event id for KServe's predictor (or a service
 * without components) and for a Seldon event without `modelid`; `<id>/<component>` for other KServe
 * components (a transformer shares the predictor's `ce-id`), `<requestid>/<modelid>` for each
 * node of a Seldon graph. Outcomes join on it (docs/collect.md).
 */
export function predictionBaseId(half: Pick<Half, 'source' | 'key' | 'component' | 'modelId'>): string {
  if (half.source === 'kserve')
    return half.component && half.component !== 'predictor' ? `${half.key}/${half.component}` : half.key;
  return half.modelId ? `${half.key}/${half.modelId}` : half.key;
}

/** The inference's Kubernetes identity, stored as labels (DESIGN.md, prediction fields). */
function inferenceLabels(half: Half): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  if (half.endpoint) labels.endpoint = half.endpoint;
  if (half.namespace) labels.kubernetes_namespace = half.namespace;
  if (half.service) labels.inference_service = half.service;
  if (half.component) labels.component = half.component;
  if (half.modelId) labels.model_id = half.modelId;
  return Object.keys(labels).length > 0 ? labels : undefined;
}

/**
 * The prediction events of an inference: both halves, or a request alone (`response` undefined:
 * features without output). Throws PayloadError when the halves disagree.
 */
export function pairEvents(
  request: Half,
  response: Half | undefined,
  mapping: CollectorMapping | undefined,
  defaultModel: ModelRef | undefined,
  namespaced = true,
): PredictionEvent[] {
  const rows = requestRows(request.body, mapping);
  const { outputs, model, version } = response
    ? responseOutputs(response.body)
    : { outputs: undefined, model: undefined, version: undefined };
  for (const output of outputs ?? [])
    if (output.rows.length !== rows.length)
      throw new PayloadError(
        `the request has ${rows.length} rows, output "${output.name}" of the response ${output.rows.length}`,
      );
  const named = nodeModelName(request, model, namespaced);
  const modelRef: ModelRef | undefined = mapping?.model
    ? { ...mapping.model }
    : named
      ? { name: named, ...(model && version ? { version } : {}) }
      : defaultModel;
  // ce-time is RFC 3339; read by schema/time.ts like every other time in mlmon.
  const start = readTime(request.time)?.ms ?? Number.NaN;
  const end = readTime(response?.time)?.ms ?? Number.NaN;
  const latencyMs = end - start >= 0 ? end - start : undefined;
  const timestamp = Number.isFinite(start) ? request.time : new Date(request.receivedAt).toISOString();
  const base = predictionBaseId(request);
  const labels = inferenceLabels(request);
  return rows.map((features, i) => {
    const event: PredictionEvent = { id: rows.length === 1 ? base : `${base}-${i}`, timestamp, features };
    if (outputs) event.prediction = rowPrediction(outputs, i, mapping);
    if (modelRef) event.model = modelRef;
    if (latencyMs !== undefined) event.latencyMs = latencyMs;
    if (labels) event.labels = labels;
    return event;
  });
}

/** Halves a sweep looks at in one search (their keys and versions only: bodies are read by groups). */
const SWEEP_BATCH = 500;

/** Predictions handed to the logger core at once when a pair expands to many rows. */
const EXPAND_CHUNK = 100;

/** Longest a chunk waits for room in the core's buffer (then it goes on: the core spills to disk). */
const EXPAND_WAIT_MS = 5_000;
/**
 * The micro-batches of halves: up to 500 in one request, two requests of a kind at once (more
 * would only split the same halves into smaller requests on a busy cluster).
 */
const BATCHES = { maxItems: 500, maxInFlight: 2 };

/**
 * The most bytes of halves one request carries by default (`maxRequestBytes`): a `_bulk` of
 * halves, one `_mget`'s answer (partner reads and the sweep). Without it, 500 KServe halves of
 * 0.75 MB made one 375 MB `_bulk` body, and one `_mget` or sweep search could answer as much:
 * memory no budget counts (issue 24). 8 MiB is still ~10 large halves per request, so the round
 * trips per pair stay few.
 */
const HALVES_MAX_BYTES = 8 * 2 ** 20;

/** Answers in a row that fitted before an `_mget` asks for more ids (see `PairStore.fitted`). */
const GROW_AFTER = 8;

/** Where a write landed in its shard's history (`_primary_term`, `_seq_no`). */
interface Version {
  term: number;
  seqNo: number;
}

function versionOf(seqNo: number | undefined, term: number | undefined): Version | undefined {
  return seqNo === undefined || term === undefined ? undefined : { term, seqNo };
}

/** Whether `a` was written after `b` (in one shard: the pairs index has one unless set otherwise). */
function laterWrite(a: Version, b: Version): boolean {
  return a.term > b.term || (a.term === b.term && a.seqNo > b.seqNo);
}

function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  return a !== undefined && b !== undefined && a.term === b.term && a.seqNo === b.seqNo;
}

/** What a sweep's search found: by pair key, the ids of its halves and their versions. */
type Searched = Map<string, Map<string, Version | undefined>>;

/** A half written by this replica (`version` unknown when an earlier copy was there: a 409). */
interface Written {
  version?: Version;
}

/** The partner half read back, with the version it was written at. */
interface Found {
  half: Half;
  version?: Version;
}

/** A half as `_mget` answers it. */
type HalfMget = estypes.MgetResponseItem<HalfDoc>;

/** A half to write (`doc`, its JSON) or, without `doc`, a settled half to delete. */
interface HalfOp {
  id: string;
  doc?: string;
}

export class PairStore {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult | undefined> | undefined;
  private closed = false;
  /** Halves of this replica being written or paired right now (not a correctness input). */
  inFlight = 0;
  /** Pairings that run after their half was answered, and deletes of settled halves (`close` waits). */
  private readonly settling = new Set<Promise<unknown>>();
  /** The pair expansions queued one after another (see `store`). */
  private expansions: Promise<unknown> = Promise.resolve();

  /** The halves (and deletes) of concurrent requests, one `_bulk` per batch (of `maxRequestBytes`). */
  private readonly writes: MicroBatcher<HalfOp, Written | undefined>;
  /** The partners concurrent requests look for, one `_mget` per batch. */
  private readonly reads = new MicroBatcher<string, Found | undefined>(
    (ids) => this.mgetHalves(ids),
    BATCHES,
  );

  /**
   * Ids per `_mget` that recently fitted in `maxRequestBytes` (see `mgetWithin`): when an answer is
   * over, back to the last count that fitted (or half); a quarter more after answers that fit.
   */
  private mgetIds = BATCHES.maxItems;
  private lastFit = 0;
  private fitsInRow = 0;

  /** Bytes of halves one request to Elasticsearch carries at most ({@link HALVES_MAX_BYTES}). */
  private readonly maxBytes: number;

  constructor(private readonly options: PairStoreOptions) {
    this.maxBytes = options.maxRequestBytes ?? HALVES_MAX_BYTES;
    this.writes = new MicroBatcher((ops) => this.bulkHalves(ops), {
      ...BATCHES,
      maxBytes: this.maxBytes,
      // The document's JSON (bytes for ASCII, which JSON mostly is) and its action line (~100; a
      // delete is that line alone).
      weight: (op) => (op.doc?.length ?? 0) + 100,
    });
  }

  private get client(): Client | undefined {
    return this.options.core.client;
  }

  /** Starts the periodic sweep (every quarter of the wait, 0.25-5 s, with jitter between replicas). */
  open(): void {
    const every = Math.max(250, Math.min(5000, this.options.timeoutMs / 4));
    const tick = () => {
      this.timer = setTimeout(
        () => {
          void this.sweep().finally(() => {
            if (!this.closed) tick();
          });
        },
        every * (0.75 + Math.random() / 2),
      );
      this.timer.unref();
    };
    tick();
  }

  /** Writes one half durably, then completes the pair if the other half is there. */
  async offer(half: Half): Promise<PairOutcome> {
    this.inFlight++;
    try {
      return await this.offerHalf(half);
    } finally {
      this.inFlight--;
    }
  }

  private async offerHalf(half: Half): Promise<PairOutcome> {
    const key = pairKey(half);
    const doc: HalfDoc = {
      pair: {
        key,
        role: half.role,
        source: half.source,
        received_at: new Date(half.receivedAt).toISOString(),
        half,
      },
    };
    const partner = half.role === 'request' ? 'response' : 'request';
    // A first look for the partner, in the same turn as the write: when the partner was written
    // earlier (the usual case: KServe logs the request before the model answers), the pair is
    // found without waiting for a read after the write. It only ever shortens the way: when it
    // finds nothing, the read after the write below is the one that counts.
    const early =
      this.client && !this.options.core.shipper.unreachable ? this.getHalf(key, partner) : undefined;
    const text = JSON.stringify(doc);
    const { durable: written, version } = await this.writeHalf(`${key}.${half.role}`, text);
    if (written.dropped > 0) return { status: 'not-durable', durable: written };
    if (written.deadLettered > 0)
      return {
        status: 'dead-lettered',
        durable: written,
        reason: 'Elasticsearch refused the half; it is kept in the dead letters with the reason',
      };
    if (written.spooled > 0) return { status: 'spooled', durable: written };
    const first = await early;
    // The partner was there before this half was written: this replica stores the pair now and
    // answers `paired` (the usual order: KServe logs the request before the model answers).
    if (first) return this.complete(half, key, first, version);
    // Not there at the first look: this half is durable, which is all its answer promises. The read
    // after the write, which decides who stores the pair, runs after the answer when the memory
    // budget lets this replica hold the half meanwhile (a KServe agent waits for each answer, and
    // a pair answered after one round trip instead of three leaves room for more); otherwise the
    // answer waits for it. Either way a replica that dies in between leaves both halves durable
    // in Elasticsearch for the other replicas' read or sweep.
    const release = this.options.hold?.(text.length);
    if (!release) return this.afterWrite(half, key, partner, version);
    this.inFlight++;
    this.track(
      this.afterWrite(half, key, partner, version)
        .then((outcome) => this.options.onSettled?.(outcome))
        .catch((error: unknown) =>
          this.options.onWarning(
            `mlmon collect: pairing ${half.source} event ${half.eventId} after its answer failed (the sweep settles it): ${(error as Error).message}`,
          ),
        )
        .finally(() => {
          this.inFlight--;
          release();
        }),
    );
    return { status: 'pending' };
  }

  /** Work that goes on after an answer, which `close` waits for (it must not throw). */
  private track(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.settling.delete(tracked));
    this.settling.add(tracked);
  }

  /** The read after this half's write: whoever finds both halves (and wrote later) stores the pair. */
  private async afterWrite(
    half: Half,
    key: string,
    partner: Half['role'],
    version: Version | undefined,
  ): Promise<PairOutcome> {
    const found = await this.getHalf(key, partner);
    // Not found, or the GET failed: the half is durable and the sweep pairs it later.
    if (!found) return { status: 'pending' };
    return this.complete(half, key, found, version);
  }

  /** Stores the pair of `half` and its partner `found` (unless the partner's writer does). */
  private async complete(
    half: Half,
    key: string,
    found: Found,
    version: Version | undefined,
  ): Promise<PairOutcome> {
    // Both halves written: the replica whose write came second (a higher `_seq_no` in the same
    // shard and term) is sure to see the other's, so it alone stores the pair, and the first
    // answers pending instead of writing the same documents again. Where the order is unknown (a
    // 409, the core's path, halves on different shards or terms) both store: once, by the ids;
    // and a wrong guess only leaves the pair to the sweep, never stores it twice.
    if (version && found.version && laterWrite(found.version, version)) return { status: 'pending' };
    const other = found.half;
    const [request, response] = half.role === 'request' ? [half, other] : [other, half];
    const stored = await this.store(request, response);
    if (stored.status === 'paired' || stored.status === 'dead-lettered')
      for (const role of ['request', 'response']) {
        // Awaited by close() too: halves left behind by a replica stopped right after its answers
        // would be settled again by a sweep, idempotently but a whole wait later.
        this.track(
          this.writes.add({ id: `${key}.${role}` }).catch(() => {
            // Left for the sweep: it settles them again, idempotently.
          }),
        );
      }
    return stored;
  }

  /**
   * Writes a half: first directly, in one `_bulk` with the halves other requests are writing at the
   * same moment (no wait behind the logger's batches), and when that fails other than by "already
   * there", through the logger core, which retries and spools.
   */
  private async writeHalf(id: string, text: string): Promise<{ durable: Durability; version?: Version }> {
    const { core } = this.options;
    if (this.client && !core.shipper.unreachable) {
      const written = await this.writes.add({ id, doc: text }).catch(() => undefined);
      if (written)
        return { durable: { indexed: 1, deadLettered: 0, spooled: 0, dropped: 0 }, version: written.version };
      // Anything else: the logger core's path below decides (retry, spool, dead letter).
    }
    const ack = new Ack();
    core.shipper.enqueue(this.options.index, id, text, Kind.Document, false, ack);
    ack.seal();
    core.shipper.kick();
    return { durable: await ack.done };
  }

  /**
   * One `_bulk` for the halves and deletes of concurrent requests; per item, whether it is there
   * now (created, or a 409: an earlier copy is). Deletes ride along (their answer is not read: a
   * half left behind is settled again by the sweep, idempotently).
   */
  private async bulkHalves(ops: HalfOp[]): Promise<Array<Written | undefined>> {
    const client = this.client;
    if (!client) return ops.map(() => undefined);
    const { index } = this.options;
    let body = '';
    for (const op of ops)
      body +=
        op.doc === undefined
          ? `{"delete":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(op.id)}}}\n`
          : `{"create":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(op.id)}}}\n${op.doc}\n`;
    const response = (await client.bulk(
      {
        body,
        filter_path: 'items.*.status,items.*._seq_no,items.*._primary_term',
      } as unknown as Parameters<Client['bulk']>[0],
      { maxRetries: 0 },
    )) as unknown as {
      items?: Array<Record<string, { status?: number; _seq_no?: number; _primary_term?: number }>>;
    };
    return ops.map((op, i) => {
      const item = Object.values(response.items?.[i] ?? {})[0];
      if (op.doc === undefined || !item) return undefined;
      if (item.status === 409) return {};
      if (item.status !== 201) return undefined;
      return { version: versionOf(item._seq_no, item._primary_term) };
    });
  }

  private async getHalf(key: string, role: Half['role']): Promise<Found | undefined> {
    if (!this.client) return undefined;
    const id = `${key}.${role}`;
    // Once more on failure (a busy cluster), then leave it to the sweep.
    return this.reads.add(id).catch(() => this.reads.add(id).catch(() => undefined));
  }

  /**
   * Realtime `_mget`s for the partners that concurrent requests look for: one per batch, or a few
   * in a row when the partners are large (`mgetWithin`).
   */
  private async mgetHalves(ids: string[]): Promise<Array<Found | undefined>> {
    const client = this.client;
    if (!client) return ids.map(() => undefined);
    const found: Array<Found | undefined> = [];
    for (let from = 0; from < ids.length;) {
      const part = ids.slice(from, from + this.mgetIds);
      const docs = await this.mgetWithin(client, part, part.length > 1);
      if (!docs) continue; // over the bound: again with fewer ids
      for (const d of docs)
        found.push(
          'found' in d && d.found && d._source
            ? { half: d._source.pair.half, version: versionOf(d._seq_no, d._primary_term) }
            : undefined,
        );
      from += part.length;
    }
    return found;
  }

  /**
   * One realtime `_mget` of halves. `bounded`: its answer is read up to `maxRequestBytes`
   * only; a larger one is dropped as it arrives (the transport's `maxResponseSize`, which stops
   * reading there) and undefined is returned, with fewer ids per `_mget` from then on. The size of
   * the halves asked for is not known before they are read: the reader of a partner knows only its
   * id, and a KServe request is often 50x its response; so the answer itself is what is bounded,
   * and the count that fits is learnt from the answers. Not bounded: one id (or one pair), which
   * cannot be read in parts; it goes alone, and admitting it was the memory budget's call.
   */
  private async mgetWithin(client: Client, ids: string[], bounded: boolean): Promise<HalfMget[] | undefined> {
    try {
      const response = await client.mget<HalfDoc>(
        { index: this.options.index, ids, realtime: true },
        {
          maxRetries: 0,
          ...(bounded && {
            maxResponseSize: this.maxBytes,
            // Uncompressed, so that the bound is on the text (a gzip answer is bounded before unzip).
            headers: { 'accept-encoding': 'identity' },
          }),
        },
      );
      this.fitted(ids.length);
      return response.docs;
    } catch (error) {
      // No signal is given, so an abort here is the answer over maxResponseSize.
      if (!bounded || !(error instanceof errors.RequestAbortedError)) throw error;
      // Back to the last count that fitted, else half: each answer dropped was rendered for nothing.
      const known = this.lastFit > 0 && this.lastFit < ids.length;
      this.mgetIds = Math.max(1, known ? this.lastFit : Math.floor(ids.length / 2));
      this.fitsInRow = 0;
      return undefined;
    }
  }

  /** An answer to `count` ids fitted: after {@link GROW_AFTER} in a row at the count, a quarter more. */
  private fitted(count: number): void {
    // The sweep asks for pairs (two ids): one id fewer than the count when it is odd.
    if (count + 1 < this.mgetIds) return;
    this.lastFit = count;
    if (++this.fitsInRow < GROW_AFTER) return;
    this.mgetIds = Math.min(BATCHES.maxItems, this.mgetIds + Math.max(1, Math.floor(this.mgetIds / 4)));
    this.fitsInRow = 0;
  }

  /** Stores a complete pair (or a request alone) as predictions; a misfit pair as a dead letter. */
  private async store(request: Half, response: Half | undefined): Promise<PairOutcome> {
    // One pair expands at a time (its events are built at once, then queued by chunks): a sweep
    // settling hundreds of pairs, or many large pairs completing together, hold one pair's events
    // rather than all of theirs. Waiting for durability is not part of the turn.
    const turn = this.expansions.then(() => this.expand(request, response));
    this.expansions = turn.catch(() => undefined);
    const expanded = await turn;
    const result = await expanded.durable;
    if (result.dropped > 0) return { status: 'not-durable', ids: expanded.ids, durable: result };
    return {
      status: expanded.reason ? 'dead-lettered' : 'paired',
      ids: expanded.ids,
      durable: result,
      reason: expanded.reason,
    };
  }

  /** A pair's predictions (or its dead letter) queued in the logger core; not yet durable. */
  private async expand(
    request: Half,
    response: Half | undefined,
  ): Promise<{ ids: string[]; durable: Promise<Durability>; reason?: string }> {
    const mapping = mappingFor(this.options.mappings, request);
    let events: Array<PredictionEvent | undefined>;
    try {
      events = pairEvents(
        request,
        response,
        mapping,
        this.options.defaultModel,
        this.options.namespaceInModelName,
      );
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      const reason = `request and response of ${request.source} inference ${request.key} do not fit: ${error.message}`;
      const { ids, durable } = this.options.core.logDurably([
        {
          kind: 'deadletter',
          id: `${predictionBaseId(request)}/pair`,
          original: JSON.stringify({ request, response }),
          reason: { type: 'mlmon_invalid_pair', message: reason, stage: 'normalize' },
        },
      ]);
      return { ids, durable, reason };
    }
    return this.logInChunks(events);
  }

  /** Waits (at most EXPAND_WAIT_MS) while the logger core's buffer is over its size. */
  private async roomInBuffer(): Promise<void> {
    const { shipper } = this.options.core;
    const limit = this.options.bufferBytes ?? 16 * 2 ** 20;
    const until = Date.now() + EXPAND_WAIT_MS;
    do await new Promise((resolve) => setTimeout(resolve, 5));
    while (shipper.bufferedBytes > limit && Date.now() < until);
  }

  /**
   * Hands a pair's predictions to the logger core a chunk at a time (issue 24, memory): a 1,500-row
   * KServe payload is 1,500 events, ~6 MB of objects for a 0.75 MB body, and its documents more
   * than that while built. Each chunk's events are let go once queued, and the next chunk waits
   * while the core's buffer is over its size (its sends drain it), so that concurrent large
   * pairs hold a chunk each rather than all their documents at once.
   */
  private async logInChunks(
    events: Array<PredictionEvent | undefined>,
  ): Promise<{ ids: string[]; durable: Promise<Durability> }> {
    const { core } = this.options;
    const ids: string[] = [];
    const durables: Array<Promise<Durability>> = [];
    for (let from = 0; from < events.length; from += EXPAND_CHUNK) {
      if (from > 0) await this.roomInBuffer();
      const chunk: DurableEntry[] = [];
      for (let i = from; i < Math.min(from + EXPAND_CHUNK, events.length); i++) {
        chunk.push({ kind: 'prediction', event: events[i] });
        events[i] = undefined;
      }
      const logged = core.logDurably(chunk);
      ids.push(...logged.ids);
      durables.push(logged.durable);
    }
    return {
      ids,
      durable: Promise.all(durables).then((all) =>
        all.reduce(
          (sum, d) => ({
            indexed: sum.indexed + d.indexed,
            deadLettered: sum.deadLettered + d.deadLettered,
            spooled: sum.spooled + d.spooled,
            dropped: sum.dropped + d.dropped,
          }),
          { indexed: 0, deadLettered: 0, spooled: 0, dropped: 0 },
        ),
      ),
    };
  }

  /**
   * Deletes settled halves. With the version that was read (`_seq_no`, `_primary_term`), so that a
   * copy written since (a half re-sent after it was read) is not deleted unseen: it stays for the
   * next sweep.
   */
  private async deleteHalves(
    refs: Array<{ id: string; seqNo?: number; primaryTerm?: number }>,
  ): Promise<void> {
    const client = this.client;
    if (!client || refs.length === 0) return;
    try {
      await client.bulk({
        operations: refs.map((r) => ({
          delete: {
            _index: this.options.index,
            _id: r.id,
            ...(r.seqNo !== undefined && r.primaryTerm !== undefined
              ? { if_seq_no: r.seqNo, if_primary_term: r.primaryTerm }
              : {}),
          },
        })),
      });
    } catch {
      // Left for the sweep: it settles them again, idempotently.
    }
  }

  /** Whether predictions with these ids are already stored (a re-sent response after its pair). */
  private async storedIds(ids: string[]): Promise<Set<string>> {
    const client = this.client;
    if (!client || ids.length === 0) return new Set();
    const r = await client.search({
      index: this.options.core.predictionIndex,
      ignore_unavailable: true,
      size: ids.length,
      _source: false,
      query: { ids: { values: ids } },
    });
    return new Set(r.hits.hits.map((h) => h._id as string));
  }

  /**
   * Settles the halves older than `timeoutMs` (all replicas' halves: any replica may do it, and
   * two doing it at once store the same documents once). Returns undefined when it could not run.
   */
  sweep(now = Date.now()): Promise<SweepResult | undefined> {
    this.sweeping ??= this.sweepOnce(now).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(now: number): Promise<SweepResult | undefined> {
    const client = this.client;
    if (!client || this.options.core.shipper.unreachable) return undefined;
    const result: SweepResult = { halves: 0, paired: 0, requestsAlone: 0, deadLettered: 0 };
    try {
      // Which halves are older than the wait, at which versions: not their bodies, which are read
      // below a group of pairs at a time (500 large halves in one answer were ~375 MB).
      const found = await client.search<HalfDoc>({
        index: this.options.index,
        ignore_unavailable: true,
        allow_no_indices: true,
        size: SWEEP_BATCH,
        track_total_hits: true,
        _source: ['pair.key'],
        query: {
          range: { 'pair.received_at': { lte: new Date(now - this.options.timeoutMs).toISOString() } },
        },
        sort: [{ 'pair.received_at': 'asc' }],
        seq_no_primary_term: true,
      });
      const total = found.hits.total;
      const count = await client.count({
        index: this.options.index,
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      result.waiting = count.count;
      if (typeof total === 'object' && total.value === 0) return result;
      const searched: Searched = new Map();
      for (const hit of found.hits.hits) {
        const key = hit._source?.pair.key;
        if (!key) continue;
        const versions = searched.get(key) ?? new Map<string, Version | undefined>();
        versions.set(hit._id as string, versionOf(hit._seq_no, hit._primary_term));
        searched.set(key, versions);
      }
      const keys = [...searched.keys()];
      for (let from = 0; from < keys.length;) {
        // Two ids a pair (the sweep asks for both halves): one id fewer when the bound is odd.
        const group = keys.slice(from, from + Math.max(1, Math.floor(this.mgetIds / 2)));
        // Both halves of each pair: the one found and its partner, which may be younger than the wait.
        const ids = group.flatMap((key) => [`${key}.request`, `${key}.response`]);
        const docs = await this.mgetWithin(client, ids, group.length > 1);
        if (!docs) continue; // over the bound: again with fewer pairs
        await this.settle(group, docs, searched, result);
        from += group.length;
      }
      this.options.onSwept?.(result);
      return result;
    } catch (error) {
      this.options.onWarning(`mlmon collect: settling unpaired halves failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  /**
   * Settles one group of a sweep's pairs from their halves read by `_mget` (request and response
   * of each key, in the order of `keys`), then deletes what it settled. A pair is left to the next
   * sweep when a half the search found is no longer there at the version it had (another replica
   * settled it, or it was written again since): settling it on what this sweep did not see could
   * dead-letter a response whose prediction is stored but not yet searchable.
   */
  private async settle(
    keys: string[],
    docs: HalfMget[],
    searched: Searched,
    result: SweepResult,
  ): Promise<void> {
    type Ref = { id: string; seqNo?: number; primaryTerm?: number };
    type Seen = { request?: Half; response?: Half; refs: Ref[] };
    const pairs: Seen[] = [];
    keys.forEach((key, k) => {
      const entry: Seen = { refs: [] };
      let unchanged = true;
      (['request', 'response'] as const).forEach((role, r) => {
        const d = docs[2 * k + r];
        const id = `${key}.${role}`;
        const there = d && 'found' in d && d.found && d._source ? d : undefined;
        const version = there ? versionOf(there._seq_no, there._primary_term) : undefined;
        const seen = searched.get(key);
        if (seen?.has(id) && !(there && sameVersion(seen.get(id) ?? version, version))) unchanged = false;
        if (!there?._source) return;
        entry[role] = there._source.pair.half;
        entry.refs.push({ id, seqNo: there._seq_no, primaryTerm: there._primary_term });
      });
      if (unchanged) pairs.push(entry);
    });
    const responsesAlone = pairs.flatMap((e) => (e.request || !e.response ? [] : [e.response]));
    const alreadyStored = await this.storedIds(
      responsesAlone.flatMap((r) => [predictionBaseId(r), `${predictionBaseId(r)}-0`]),
    );
    const settled: Ref[] = [];
    await Promise.all(
      pairs.map(async ({ request, response, refs }) => {
        let outcome: PairOutcome;
        if (request) {
          outcome = await this.store(request, response);
          if (outcome.status === 'paired') {
            if (response) result.paired++;
            else result.requestsAlone++;
          } else if (outcome.status === 'dead-lettered') result.deadLettered++;
        } else if (response) {
          const base = predictionBaseId(response);
          if (alreadyStored.has(base) || alreadyStored.has(`${base}-0`)) outcome = { status: 'paired' };
          else {
            outcome = await this.deadLetterAlone(response);
            if (outcome.status === 'dead-lettered') result.deadLettered++;
          }
        } else return;
        if (outcome.status === 'not-durable') return; // kept: the next sweep tries again
        result.halves += (request ? 1 : 0) + (response ? 1 : 0);
        settled.push(...refs);
      }),
    );
    await this.deleteHalves(settled);
  }

  /** A response whose request never came: kept in the dead letters with its body, once. */
  private async deadLetterAlone(response: Half): Promise<PairOutcome> {
    const message = `${response.source} response event ${response.eventId} got no request within ${this.options.timeoutMs / 1000} s`;
    const { ids, durable } = this.options.core.logDurably([
      {
        kind: 'deadletter',
        id: `${predictionBaseId(response)}/response-unpaired`,
        original: JSON.stringify(response),
        reason: { type: 'mlmon_unpaired_event', message, stage: 'normalize' },
      },
    ]);
    const result = await durable;
    if (result.dropped > 0) return { status: 'not-durable', ids, durable: result };
    return { status: 'dead-lettered', ids, durable: result, reason: message };
  }

  /** Stops the sweep; waiting halves stay in Elasticsearch for the other replicas (or the next start). */
  async close(): Promise<PairSummary> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Pairings begun after their answers finish first, for at most the logger's close timeout (a
    // cluster gone quiet must not hold a SIGTERM past the pod's grace period): their halves are
    // durable either way, and what is left is settled by a sweep.
    const until = Date.now() + this.options.core.closeTimeoutMs;
    while (this.settling.size > 0 && Date.now() < until)
      await Promise.race([
        Promise.all(this.settling),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())).unref()),
      ]);
    await this.sweeping;
    return { index: this.options.index };
  }
}
