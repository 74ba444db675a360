/**
 * The join: labelled predictions become evaluation documents in `metrics-mlmon.evaluation-{ns}`.
 *
 * Why a join stream: labels arrive later than predictions (`logOutcome`), in another stream, and
 * Elasticsearch has no join across documents at aggregation time (and this cluster no scripting,
 * enrich or transforms). So an incremental job pairs each outcome with its prediction once, and
 * stores the pair with the per-prediction quantities that window metrics need precomputed
 * (`eval.correct`, `eval.log_loss`, `eval.brier`, `eval.error`, `eval.abs_error`, `eval.sq_error`,
 * `eval.ape`, `eval.actual_shifted`). Windows are then plain aggregations (sums, counts,
 * histograms, terms) on that stream, filtered by the prediction's `@timestamp`, so a late label
 * lands in the window of its prediction.
 *
 * This file is the run (read outcomes and predictions, write, checkpoint); the evaluation document
 * itself, a pure function of a prediction and its truth, is in evaluation-document.ts. Over 450
 * lines because the run's steps share one JoinRun and read in the order of the mechanism below.
 *
 * Mechanism (see docs/performance.md):
 * 1. the checkpoint `join:{namespace}:{model}` in `mlmon-state` holds the latest `event.ingested`
 *    (when a document reached Elasticsearch, see INGESTED_FIELD) of the outcomes and labelled
 *    predictions processed so far, their latest `@timestamp` (for documents without the stamp),
 *    and the count of documents stamped in the overlap before it (SettledOverlap);
 * 2. pending outcomes (prediction not found on an earlier run), each a document of its own in
 *    `mlmon-state` (join-pending.ts), are retried first;
 * 3. new outcomes (`event.ingested` after the checkpoint, or ≥ checkpoint − overlap when the
 *    overlap's count changed, see below: a label carrying an older time than ones already joined
 *    is still new) of the namespace, whatever model they name, are read in
 *    pages inside a point in time, their predictions looked up by id (an `ids` query on the
 *    prediction stream; the prediction's model decides whose join writes the pair), and the pairs
 *    written with {@link upsertIntoDataStream} keyed by prediction id: re-joining is a no-op, and a
 *    corrected label (a later outcome for the same prediction) replaces the earlier one;
 * 4. predictions logged with `actual.*` are read the same way and written too, unless an outcome
 *    already labelled that prediction (an outcome is the later, authoritative truth);
 * 5. every evaluation document created or changed gets `eval.joined_at` (the wall clock of the
 *    write, epoch ms), which is how the scheduler finds the windows whose labels changed (docs/performance.md);
 *    the evaluation stream is refreshed after any write, so the next search sees all of them;
 * 6. the checkpoint is written with optimistic concurrency; a concurrent run that got there first
 *    keeps its checkpoint, and the work of both is idempotent.
 * The overlap (default 1 hour) is the margin before the checkpoint within which a document may
 * still become searchable after later-stamped ones were read: `event.ingested` is stamped by the
 * logger when it sends a request (shipper.ts stamps every attempt anew, so a retried batch carries
 * the time of the attempt that stored it), and that request may be stored and refreshed later (a
 * slow bulk request, which Elasticsearch may finish after the client gave up and whose copy the
 * re-send check then keeps, with that attempt's stamp; the refresh interval; two loggers' clocks
 * apart). None of these has a hard bound, hence a wide margin rather than the few seconds they
 * usually take. Re-reading the whole margin on every run made the join quadratic wherever data is
 * written fast (the demo: each scheduler pass re-read every outcome written so far, 30,000 on its
 * last passes), so a run reads the margin only when something arrived in it: the checkpoint keeps
 * the count of documents stamped in [checkpoint − overlap, checkpoint] as seen by the run that took
 * it (`SettledOverlap`, counted in the same point in time as the reading); the next run counts that
 * range again, and the same count means it holds exactly the documents already processed
 * (documents are not deleted from these streams within an hour of arriving), so only documents
 * stamped after the checkpoint are read: O(new documents) per run plus two counts.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { upsertIntoDataStream, type UpsertDocument } from '../elastic/upsert.js';
import { openPointInTime, pagesByTime, search, searchOrEmpty } from '../elastic/search.js';
import { DEFAULT_NAMESPACE, streamNames } from '../schema/streams.js';
import {
  deletePendingOutcomes,
  type PendingOutcome,
  readPendingOutcomes,
  storePendingOutcomes,
} from './join-pending.js';
import {
  type ActualValue,
  evaluationDocument,
  type EvaluationOptions,
  isNumber,
  type OutcomeSource,
  type PredictionSource,
} from './evaluation-document.js';

// The document the join writes per labelled prediction, and how it is computed: evaluation-document.ts.
export {
  type ActualValue,
  evaluationDocument,
  type EvaluationDocument,
  type EvaluationOptions,
  type OutcomeSource,
  type PredictionSource,
} from './evaluation-document.js';

export { type PendingOutcome } from './join-pending.js';

/** Checkpoint of one model's join, stored in `mlmon-state` under `join:{namespace}:{model}`. */
export interface JoinCheckpoint {
  /** epoch ms of the latest `event.ingested` among the outcomes processed; null before the first */
  outcomesIngested: number | null;
  /** epoch ms of the latest `event.ingested` among the predictions-with-actual processed */
  predictionsIngested: number | null;
  /**
   * epoch ms of the latest outcome `@timestamp` processed; null before the first. Only documents
   * without `event.ingested` (written by another client than mlmon's logger) are read by it.
   */
  outcomes: number | null;
  /** the same for predictions-with-actual */
  predictions: number | null;
  /** outcomes stamped within the overlap before `outcomesIngested` when it was taken (see SettledOverlap) */
  outcomesSettled?: SettledOverlap;
  /** the same for predictions-with-actual and `predictionsIngested` */
  predictionsSettled?: SettledOverlap;
  /**
   * Only in checkpoints written before issue 28 item 7: the pending outcomes, now one document each
   * (join-pending.ts). A run moves them there and writes the checkpoint without them.
   */
  pending?: PendingOutcome[];
  /**
   * The model's first regression actual, kept for good (also by --rescan): the shift c of every
   * evaluation document's `eval.actual_shifted` = actual − c, so that R²'s total sum of squares is
   * summed near the mean instead of cancelling (1e9 ± 10 gave R² null). A concurrent first run may
   * pick another c; the performance job pools the groups by `eval.actual_shift`.
   */
  actualShift?: number;
}

/**
 * How many documents stamped in [from, to] a run saw, all of them processed; `to` is the stream's
 * latest `event.ingested` then and `from` = `to` − overlap. The next run counts the same range
 * again: the same count means no late document arrived there, and that run reads only after `to`
 * (O(new documents)); another count, and it re-reads from `to` − overlap as before. `to` is included: one batch shares one stamp.
 */
export interface SettledOverlap {
  from: number;
  to: number;
  count: number;
}

/**
 * When a document reached Elasticsearch: stamped by mlmon's logger when it sends the batch (a
 * spooled document replayed after an outage gets the time of the replay), or by an ingest pipeline
 * of the cluster where it has one (a pipeline's stamp replaces the logger's). The join keys on it.
 */
export const INGESTED_FIELD = 'event.ingested';

export interface JoinOptions extends EvaluationOptions {
  namespace?: string;
  model: string;
  /** documents per page (outcomes or predictions); default 1000 */
  pageSize?: number;
  /**
   * margin before the checkpoint within which a document may still become searchable (see the
   * module comment); default 1 hour. Only re-read when its count of documents changed.
   */
  overlapMs?: number;
  /** a pending outcome whose prediction is still missing after this long is dropped; default 7 days */
  pendingTtlMs?: number;
  /**
   * at most this many pending outcomes are kept (the oldest go first); default 100 000. Each is its
   * own document, so this bounds the work of retrying them on every run, not a document's size.
   */
  maxPending?: number;
  /** wall clock for pending expiry; default now */
  now?: Date;
  /** ignore the checkpoint and join everything again (idempotent, only slower) */
  rescan?: boolean;
  /**
   * refresh the evaluation stream at the end even when this run wrote nothing (a run that wrote
   * always refreshes, so that the performance job that follows sees every evaluation)
   */
  refresh?: boolean;
}

export interface JoinResult {
  /** outcomes read (after collapsing corrections within a page) */
  outcomesRead: number;
  /** predictions with an actual read */
  predictionsWithActualRead: number;
  /**
   * documents read from the outcome and prediction streams (before any collapsing): those that
   * arrived since the checkpoint, plus the overlap before it when late documents arrived there
   */
  documentsRead: number;
  /** streams (outcomes, predictions with an actual) whose overlap was re-read: its count had changed */
  overlapRereads: number;
  /** evaluation documents created / replaced / already identical */
  created: number;
  updated: number;
  unchanged: number;
  /** labelled predictions that had nothing to evaluate (failed prediction, mismatched truth kind) */
  skipped: number;
  /** predictions with an actual left alone because an outcome already labelled them */
  supersededByOutcome: number;
  /** pending outcomes now joined, still waiting, and dropped after the TTL or the cap */
  pendingResolved: number;
  pending: number;
  pendingExpired: number;
  checkpoint: JoinCheckpoint;
  /** true when another run wrote the checkpoint meanwhile (ours was not stored; the work is idempotent) */
  checkpointConflict: boolean;
}

/** When the evaluation document was last created or changed by the join (wall clock of the write). */
export const JOINED_AT_FIELD = 'eval.joined_at';

export function joinCheckpointId(namespace: string, model: string): string {
  return `join:${namespace}:${model}`;
}

/** Deletes a model's join state: its checkpoint and its pending outcomes (a namespace being removed). */
export async function deleteJoinState(client: Client, namespace: string, model: string): Promise<void> {
  const { state } = streamNames(namespace);
  const id = joinCheckpointId(namespace, model);
  await client.delete({ index: state, id, refresh: true }, { ignore: [404] });
  await deletePendingOutcomes(client, state, id);
}

interface StoredState {
  state?: { kind?: string; job?: string; checkpoint?: string; detail?: Partial<JoinCheckpoint> };
}

async function readCheckpoint(
  client: Client,
  index: string,
  id: string,
): Promise<{ checkpoint: JoinCheckpoint; seqNo?: number; primaryTerm?: number }> {
  const empty: JoinCheckpoint = {
    outcomesIngested: null,
    predictionsIngested: null,
    outcomes: null,
    predictions: null,
  };
  const response = await client.get<StoredState>({ index, id }, { ignore: [404] });
  if (!response.found || !response._source) return { checkpoint: empty };
  const detail = response._source.state?.detail ?? {};
  return {
    checkpoint: {
      outcomesIngested: detail.outcomesIngested ?? null,
      predictionsIngested: detail.predictionsIngested ?? null,
      outcomes: detail.outcomes ?? null,
      predictions: detail.predictions ?? null,
      ...(detail.outcomesSettled ? { outcomesSettled: detail.outcomesSettled } : {}),
      ...(detail.predictionsSettled ? { predictionsSettled: detail.predictionsSettled } : {}),
      ...(detail.pending?.length ? { pending: detail.pending } : {}),
      ...(isNumber(detail.actualShift) ? { actualShift: detail.actualShift } : {}),
    },
    seqNo: response._seq_no,
    primaryTerm: response._primary_term,
  };
}

async function writeCheckpoint(
  client: Client,
  index: string,
  id: string,
  checkpoint: JoinCheckpoint,
  previous: { seqNo?: number; primaryTerm?: number },
  namespace: string,
  model: string,
): Promise<boolean> {
  const document = {
    state: {
      kind: 'checkpoint',
      job: 'join',
      namespace,
      model,
      checkpoint: checkpoint.outcomes === null ? null : new Date(checkpoint.outcomes).toISOString(),
      detail: checkpoint,
    },
  };
  try {
    if (previous.seqNo === undefined) {
      await client.create({ index, id, document, refresh: true });
    } else {
      await client.index({
        index,
        id,
        document,
        if_seq_no: previous.seqNo,
        if_primary_term: previous.primaryTerm,
        refresh: true,
      });
    }
    return true;
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 409) return false;
    throw error;
  }
}

/** The predictions among `ids`, whatever their model (an id is unique within a namespace). */
async function predictionsById(
  client: Client,
  index: string,
  ids: string[],
): Promise<Map<string, PredictionSource>> {
  const found = new Map<string, PredictionSource>();
  if (ids.length === 0) return found;
  const response = await searchOrEmpty<PredictionSource>(client, {
    index,
    query: { ids: { values: ids } },
    size: ids.length,
  });
  for (const hit of response?.hits.hits ?? []) {
    if (hit._id && hit._source) found.set(hit._id, hit._source);
  }
  return found;
}

/** Ids among `ids` whose evaluation document came from an outcome. */
async function labelledByOutcome(client: Client, index: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const response = await searchOrEmpty(client, {
    index,
    query: { bool: { filter: [{ ids: { values: ids } }, { term: { 'eval.source': 'outcome' } }] } },
    size: ids.length,
    _source: false,
  });
  return new Set((response?.hits.hits ?? []).map((h) => h._id as string));
}

/** The run's evaluation options with the model's actual shift, chosen from the first numeric actual. */
function evaluationOptions(run: JoinRun, actual: ActualValue | undefined): EvaluationOptions {
  if (run.checkpoint.actualShift === undefined && isNumber(actual?.value))
    run.checkpoint.actualShift = actual.value;
  const actualShift = run.checkpoint.actualShift;
  return actualShift === undefined ? run.options : { ...run.options, actualShift };
}

function hasActual(actual: ActualValue | undefined): actual is ActualValue {
  return !!actual && ((actual.label !== undefined && actual.label !== null) || isNumber(actual.value));
}

/** Everything one join run reads and updates, passed from step to step. */
interface JoinRun {
  client: Client;
  options: JoinOptions;
  streams: ReturnType<typeof streamNames>;
  pageSize: number;
  overlapMs: number;
  now: Date;
  checkpoint: JoinCheckpoint;
  /** outcomes whose prediction is not found yet, by prediction id */
  pending: Map<string, PendingOutcome>;
  result: JoinResult;
}

interface LabelledOutcome {
  id: string;
  actual: ActualValue;
  labelTime: string;
  /** the model the outcome names; undefined (or `unknown`, the logger's name for none) when none */
  model?: string;
}

/** The name the logger gives an event that names no model (schema/prediction.ts `modelOf`). */
const NO_MODEL = 'unknown';

/** Upserts evaluation documents, stamping the ones created or changed with `eval.joined_at`. */
async function writeEvaluations(run: JoinRun, docs: UpsertDocument[]): Promise<void> {
  // The stamp is the wall clock of the write: the scheduler finds the windows that received
  // labels by `eval.joined_at` (docs/performance.md, "Late labels"). Unchanged documents keep theirs.
  const written = await upsertIntoDataStream(run.client, run.streams.evaluation, docs, {
    stamp: { field: JOINED_AT_FIELD, value: Date.now() },
  });
  if (written.failed.length > 0) {
    const first = written.failed[0];
    throw new Error(
      `join: ${written.failed.length} evaluation documents not written (first: ${first?.id}: ${first?.reason})`,
    );
  }
  run.result.created += written.created;
  run.result.updated += written.updated;
  run.result.unchanged += written.unchanged;
}

/** Evaluation documents of outcomes whose prediction is found; the others wait in `pending`. */
async function joinOutcomes(run: JoinRun, outcomes: LabelledOutcome[]): Promise<void> {
  const predictions = await predictionsById(
    run.client,
    run.streams.prediction,
    outcomes.map((o) => o.id),
  );
  const docs: UpsertDocument[] = [];
  for (const outcome of outcomes) {
    const prediction = predictions.get(outcome.id);
    if (!prediction) {
      // Waits in the pending list of the model it names, or of every model when it names none.
      const names = outcome.model;
      if (names !== undefined && names !== NO_MODEL && names !== run.options.model) continue;
      const earlier = run.pending.get(outcome.id);
      const { id, actual, labelTime } = outcome;
      run.pending.set(id, { id, actual, labelTime, since: earlier?.since ?? run.now.toISOString() });
      continue;
    }
    // An outcome joins its prediction by id whatever model it names (issue 29): the prediction's
    // own model decides whose evaluation it is, and that model's join writes it.
    if (prediction.model?.name !== run.options.model) {
      if (run.pending.delete(outcome.id)) run.result.pendingResolved++;
      continue;
    }
    if (run.pending.delete(outcome.id)) run.result.pendingResolved++;
    const doc = evaluationDocument(
      prediction,
      outcome.actual,
      outcome.labelTime,
      'outcome',
      evaluationOptions(run, outcome.actual),
    );
    if (!doc) {
      run.result.skipped++;
      continue;
    }
    docs.push({ id: outcome.id, document: doc as unknown as Record<string, unknown> });
  }
  await writeEvaluations(run, docs);
}

/** Step 1: outcomes that waited for their prediction on earlier runs. */
async function retryPendingOutcomes(run: JoinRun): Promise<void> {
  const retries = [...run.pending.values()];
  for (let i = 0; i < retries.length; i += run.pageSize) {
    await joinOutcomes(run, retries.slice(i, i + run.pageSize));
  }
}

/** A bound on `event.ingested` (epoch ms): from it on, or only after it. */
type IngestedBound = { gte: number } | { gt: number };

/**
 * Documents that reached Elasticsearch since `ingested`: by `event.ingested`, so
 * that a document carrying an older `@timestamp` than ones already joined (a late labelling batch,
 * a spool replayed after an outage) is still read; a document without the stamp (written by
 * another client) by its `@timestamp` ≥ `timestamp` − overlap, as before.
 */
function sinceFilter(
  ingested: IngestedBound | null,
  timestamp: number | null,
  overlapMs: number,
): estypes.QueryDslQueryContainer[] {
  if (ingested === null && timestamp === null) return [];
  const since = (field: string, bound: IngestedBound) => ({
    range: { [field]: { ...bound, format: 'epoch_millis' } },
  });
  const unstamped: estypes.QueryDslQueryContainer = {
    bool: {
      must_not: [{ exists: { field: INGESTED_FIELD } }],
      ...(timestamp === null ? {} : { filter: [since('@timestamp', { gte: timestamp - overlapMs })] }),
    },
  };
  const should: estypes.QueryDslQueryContainer[] = [unstamped];
  should.push(ingested === null ? { exists: { field: INGESTED_FIELD } } : since(INGESTED_FIELD, ingested));
  return [{ bool: { should, minimum_should_match: 1 } }];
}

/** Which checkpoint fields track one stream's reading. */
interface StreamMarks {
  ingested: 'outcomesIngested' | 'predictionsIngested';
  timestamp: 'outcomes' | 'predictions';
  settled: 'outcomesSettled' | 'predictionsSettled';
}

type Stamped = { '@timestamp'?: string; event?: { ingested?: string } };

/**
 * The pages of `index` matching `base` that the run has not processed yet, in time order, all read
 * in one point in time; updates the stream's marks in the checkpoint (latest stamp and time, and
 * the settled overlap, counted in the same point in time so that nothing indexed meanwhile is
 * counted unread).
 */
async function* arrivals<T extends Stamped>(
  run: JoinRun,
  index: string,
  base: estypes.QueryDslQueryContainer[],
  marks: StreamMarks,
): AsyncGenerator<Array<estypes.SearchHit<T>>> {
  const checkpoint = run.checkpoint;
  const pit = await openPointInTime(run.client, index);
  if (!pit) return;
  const stampedIn = async (from: number, to: number) => {
    const response = await search(run.client, {
      pit: { id: pit.id, keep_alive: '2m' },
      size: 0,
      track_total_hits: true,
      query: {
        bool: {
          filter: [...base, { range: { [INGESTED_FIELD]: { gte: from, lte: to, format: 'epoch_millis' } } }],
        },
      },
    });
    if (response.pit_id) pit.id = response.pit_id;
    const total = response.hits.total;
    return typeof total === 'number' ? total : (total?.value ?? 0);
  };
  try {
    const ingested = checkpoint[marks.ingested];
    let from: IngestedBound | null = ingested === null ? null : { gte: ingested - run.overlapMs };
    const settled = checkpoint[marks.settled];
    if (ingested !== null && settled?.to === ingested && settled.from <= ingested - run.overlapMs) {
      if ((await stampedIn(settled.from, settled.to)) === settled.count) from = { gt: settled.to };
      else run.result.overlapRereads++;
    }
    const query = {
      bool: { filter: [...base, ...sinceFilter(from, checkpoint[marks.timestamp], run.overlapMs)] },
    };
    for await (const page of pagesByTime<T>(run.client, index, query, run.pageSize, pit)) {
      run.result.documentsRead += page.length;
      for (const hit of page) {
        const ts = Date.parse(hit._source?.['@timestamp'] ?? '');
        if (Number.isFinite(ts))
          checkpoint[marks.timestamp] = Math.max(checkpoint[marks.timestamp] ?? ts, ts);
        checkpoint[marks.ingested] = laterIngested(checkpoint[marks.ingested], hit._source);
      }
      yield page;
    }
    const latest = checkpoint[marks.ingested];
    if (latest !== null) {
      const start = latest - run.overlapMs;
      checkpoint[marks.settled] = { from: start, to: latest, count: await stampedIn(start, latest) };
    }
  } finally {
    await run.client.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
}

/** Latest of `current` and the document's `event.ingested`. */
function laterIngested(current: number | null, source: { event?: { ingested?: string } } | undefined) {
  const at = Date.parse(source?.event?.ingested ?? '');
  return Number.isFinite(at) ? Math.max(current ?? at, at) : current;
}

/**
 * Step 2: outcomes since the checkpoint, in time order; a later outcome of a prediction wins. Every
 * outcome of the namespace, whatever model it names: it is matched to its prediction by id.
 */
async function joinNewOutcomes(run: JoinRun): Promise<void> {
  for await (const page of arrivals<OutcomeSource & Stamped>(run, run.streams.outcome, [], OUTCOME_MARKS)) {
    // Collapse corrections within the page: the later outcome of a prediction wins.
    const latest = new Map<string, LabelledOutcome>();
    for (const hit of page) {
      const source = hit._source;
      const id = source?.prediction?.id;
      if (!source || !id || !hasActual(source.actual)) continue;
      latest.delete(id); // re-insert so that Map order stays time order
      latest.set(id, {
        id,
        actual: source.actual,
        labelTime: source['@timestamp'],
        model: source.model?.name,
      });
    }
    run.result.outcomesRead += latest.size;
    await joinOutcomes(run, [...latest.values()]);
  }
}

const OUTCOME_MARKS: StreamMarks = {
  ingested: 'outcomesIngested',
  timestamp: 'outcomes',
  settled: 'outcomesSettled',
};
const PREDICTION_MARKS: StreamMarks = {
  ingested: 'predictionsIngested',
  timestamp: 'predictions',
  settled: 'predictionsSettled',
};

const WITH_ACTUAL: estypes.QueryDslQueryContainer = {
  bool: {
    should: [{ exists: { field: 'actual.label' } }, { exists: { field: 'actual.value' } }],
    minimum_should_match: 1,
  },
};

/** Step 3: predictions logged with their `actual`, unless an outcome already labelled them. */
async function joinPredictionsWithActual(run: JoinRun): Promise<void> {
  const byModel = { term: { 'model.name': run.options.model } };
  for await (const page of arrivals<PredictionSource & Stamped>(
    run,
    run.streams.prediction,
    [byModel, WITH_ACTUAL],
    PREDICTION_MARKS,
  )) {
    const ids = page.map((h) => h._id as string);
    const superseded = await labelledByOutcome(run.client, run.streams.evaluation, ids);
    const docs: UpsertDocument[] = [];
    for (const hit of page) {
      const source = hit._source;
      if (!source || !hit._id || !hasActual(source.actual)) continue;
      run.result.predictionsWithActualRead++;
      if (superseded.has(hit._id)) {
        run.result.supersededByOutcome++;
        continue;
      }
      const doc = evaluationDocument(
        { ...source, prediction: { ...source.prediction, id: source.prediction?.id ?? hit._id } },
        source.actual,
        source['@timestamp'],
        'prediction',
        evaluationOptions(run, source.actual),
      );
      if (!doc) {
        run.result.skipped++;
        continue;
      }
      docs.push({ id: doc.prediction.id, document: doc as unknown as Record<string, unknown> });
    }
    await writeEvaluations(run, docs);
  }
}

/**
 * Step 4: pending outcomes expire after the TTL, and the oldest beyond the cap are dropped, so that
 * outcomes of predictions that will never arrive (dead-lettered, past retention) cannot grow the
 * checkpoint without bound. Pure.
 */
export function keepPending(
  pending: Iterable<PendingOutcome>,
  now: Date,
  ttlMs: number,
  max: number,
): { kept: PendingOutcome[]; expired: number } {
  const all = [...pending];
  let kept = all.filter((p) => now.getTime() - Date.parse(p.since) <= ttlMs);
  if (kept.length > max) {
    kept.sort((a, b) => Date.parse(a.since) - Date.parse(b.since));
    kept = kept.slice(kept.length - max);
  }
  return { kept, expired: all.length - kept.length };
}

/** Writes so far since the last refresh of the evaluation stream. */
const writesOf = (result: JoinResult) => result.created + result.updated;

/**
 * Runs the join once for one model; see the module comment for the mechanism.
 *
 * The evaluation stream is refreshed whenever the run wrote to it (after the outcomes, and at the
 * end): a performance job started right after the join must count every evaluation it created,
 * not the part Elasticsearch happened to refresh (issue 12: 23,000 of 30,000 counted on a first run).
 */
export async function runJoin(client: Client, options: JoinOptions): Promise<JoinResult> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const streams = streamNames(namespace);
  const stateId = joinCheckpointId(namespace, options.model);
  const stored = await readCheckpoint(client, streams.state, stateId);
  const storedPending = await readPendingOutcomes(client, streams.state, stateId);
  // A checkpoint of an earlier release holds its pending outcomes itself: they move to documents.
  const pending = new Map((stored.checkpoint.pending ?? []).map((p) => [p.id, p]));
  for (const [id, outcome] of storedPending) pending.set(id, outcome);
  const checkpoint: JoinCheckpoint = options.rescan
    ? {
        outcomesIngested: null,
        predictionsIngested: null,
        outcomes: null,
        predictions: null,
        ...(stored.checkpoint.actualShift !== undefined
          ? { actualShift: stored.checkpoint.actualShift }
          : {}),
      }
    : structuredClone(stored.checkpoint);
  delete checkpoint.pending;
  const run: JoinRun = {
    client,
    options,
    streams,
    pageSize: options.pageSize ?? 1000,
    overlapMs: options.overlapMs ?? 3_600_000,
    now: options.now ?? new Date(),
    checkpoint,
    pending,
    result: {
      outcomesRead: 0,
      predictionsWithActualRead: 0,
      documentsRead: 0,
      overlapRereads: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      supersededByOutcome: 0,
      pendingResolved: 0,
      pending: 0,
      pendingExpired: 0,
      checkpoint,
      checkpointConflict: false,
    },
  };
  const refreshEvaluations = () =>
    client.indices.refresh({ index: streams.evaluation, ignore_unavailable: true });

  // Outcomes first (pending ones, then new ones in time order, so that when one prediction has
  // several outcomes the latest is written last and stays) ...
  await retryPendingOutcomes(run);
  await joinNewOutcomes(run);
  // ... whose writes must be visible to the "already labelled by an outcome" check of step 3.
  const afterOutcomes = writesOf(run.result);
  if (afterOutcomes > 0) await refreshEvaluations();
  await joinPredictionsWithActual(run);

  const { kept, expired } = keepPending(
    run.pending.values(),
    run.now,
    options.pendingTtlMs ?? 7 * 86_400_000,
    options.maxPending ?? 100_000,
  );
  await storePendingOutcomes(client, streams.state, stateId, storedPending, kept);
  run.result.pending = kept.length;
  run.result.pendingExpired = expired;

  if (writesOf(run.result) > afterOutcomes || options.refresh) await refreshEvaluations();
  const written = await writeCheckpoint(
    client,
    streams.state,
    stateId,
    checkpoint,
    stored,
    namespace,
    options.model,
  );
  run.result.checkpointConflict = !written;
  return run.result;
}
