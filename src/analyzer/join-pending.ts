/**
 * Outcomes whose prediction was not found yet, one small document each in `mlmon-state` (issue 28
 * item 7). They used to live in a list inside the join's checkpoint document, up to 100,000 of
 * them rewritten on every run: one document of tens of megabytes. Here each pending outcome is its
 * own document, keyed by namespace, model and prediction id, written when it starts waiting (or its
 * label changes) and deleted when it is joined or expires; a run reads them back by `state.kind`
 * and `state.job` (both mapped keyword in mlmon-state@mappings), so the state stays in
 * Elasticsearch and any replica may run the join.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { openPointInTime, search } from '../elastic/search.js';
import type { ActualValue } from './evaluation-document.js';

/** An outcome whose prediction was not found yet; retried by every join run. */
export interface PendingOutcome {
  id: string;
  actual: ActualValue;
  labelTime: string;
  /** when the join first saw it (wall clock of that run), for expiry */
  since: string;
}

/** `state.kind` of a pending outcome's document. */
export const PENDING_OUTCOME_KIND = 'pending-outcome';

/** The document id of a pending outcome of the join `job` (`join:{namespace}:{model}`). */
export function pendingOutcomeId(job: string, predictionId: string): string {
  return `${job}:pending:${predictionId}`;
}

interface PendingDocument {
  state?: { kind?: string; job?: string; detail?: PendingOutcome };
}

const ofJob = (job: string): estypes.QueryDslQueryContainer => ({
  bool: { filter: [{ term: { 'state.kind': PENDING_OUTCOME_KIND } }, { term: { 'state.job': job } }] },
});

/** The pending outcomes of `job`, by prediction id (read in pages inside a point in time). */
export async function readPendingOutcomes(
  client: Client,
  index: string,
  job: string,
  pageSize = 5000,
): Promise<Map<string, PendingOutcome>> {
  const pending = new Map<string, PendingOutcome>();
  const pit = await openPointInTime(client, index);
  if (!pit) return pending;
  try {
    let searchAfter: estypes.SortResults | undefined;
    for (;;) {
      const response = await search<PendingDocument>(client, {
        pit: { id: pit.id, keep_alive: '2m' },
        query: ofJob(job),
        sort: [{ _shard_doc: { order: 'asc' } }],
        size: pageSize,
        track_total_hits: false,
        ...(searchAfter ? { search_after: searchAfter } : {}),
      });
      if (response.pit_id) pit.id = response.pit_id;
      const hits = response.hits.hits;
      for (const hit of hits) {
        const detail = hit._source?.state?.detail;
        if (detail?.id) pending.set(detail.id, detail);
      }
      if (hits.length < pageSize) return pending;
      searchAfter = hits[hits.length - 1]?.sort;
    }
  } finally {
    await client.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
}

/**
 * Makes the stored pending outcomes of `job` those of `kept`: writes the new and changed ones,
 * deletes the ones no longer kept (joined, expired). `stored` is what the run read at its start.
 * A delete that finds nothing (another replica joined it first) is fine; any other failure throws,
 * and the run fails before its checkpoint moves.
 */
export async function storePendingOutcomes(
  client: Client,
  index: string,
  job: string,
  stored: Map<string, PendingOutcome>,
  kept: PendingOutcome[],
): Promise<{ written: number; deleted: number }> {
  const keptIds = new Set(kept.map((p) => p.id));
  const operations: estypes.BulkOperationContainer[] = [];
  const documents: Array<Record<string, unknown> | undefined> = [];
  for (const outcome of kept) {
    const before = stored.get(outcome.id);
    if (before && JSON.stringify(before) === JSON.stringify(outcome)) continue;
    operations.push({ index: { _index: index, _id: pendingOutcomeId(job, outcome.id) } });
    documents.push({ state: { kind: PENDING_OUTCOME_KIND, job, detail: outcome } });
  }
  const written = operations.length;
  for (const id of stored.keys()) {
    if (keptIds.has(id)) continue;
    operations.push({ delete: { _index: index, _id: pendingOutcomeId(job, id) } });
    documents.push(undefined);
  }
  const chunk = 5000;
  for (let i = 0; i < operations.length; i += chunk) {
    const body = operations.slice(i, i + chunk).flatMap((operation, k) => {
      const document = documents[i + k];
      return document ? [operation, document] : [operation];
    });
    const response = await client.bulk({ operations: body, refresh: true });
    if (!response.errors) continue;
    const failed = response.items.find((item) => {
      const answer = item.index ?? item.delete;
      return answer?.error && !(item.delete && answer.status === 404);
    });
    if (failed) {
      const answer = failed.index ?? failed.delete;
      throw new Error(`join: pending outcome ${answer?._id} not stored: ${JSON.stringify(answer?.error)}`);
    }
  }
  return { written, deleted: operations.length - written };
}

/**
 * Deletes every pending outcome of `job` (a namespace or demo being removed), by id: the
 * integ-test distribution has no delete-by-query.
 */
export async function deletePendingOutcomes(client: Client, index: string, job: string): Promise<void> {
  await storePendingOutcomes(client, index, job, await readPendingOutcomes(client, index, job), []);
}
