/** Before a demo run: what an earlier run left in the namespace goes (moved out of commands/demo.ts). */
import type { Client } from '@elastic/elasticsearch';
import { deleteJoinState } from '../../analyzer/join.js';
import { logStream, STATE_INDEX } from '../../schema/streams.js';
import { checkpointId, labelCursorId, windowStateId } from '../../scheduler/state.js';
import type { DemoDataset } from './datasets.js';
import { JOBS } from './scheduler-passes.js';

/**
 * Removes what an earlier demo run left in the namespace: its data streams' documents and the
 * scheduler and join state of the demo's model. This Elasticsearch may have neither data stream APIs
 * nor delete-by-query, so each stream is rolled over to a new, empty write index and its earlier
 * backing indices are deleted; the state documents are deleted by id (the windows are known).
 * Refused when the namespace holds another model's predictions: those are not the demo's to delete.
 */
export async function removeEarlierRun(
  client: Client,
  namespace: string,
  ds: DemoDataset,
  from: number,
  to: number,
): Promise<number> {
  const predictions = logStream('prediction', namespace);
  const count = (query: Record<string, unknown>) =>
    client
      .count({ index: predictions, query, ignore_unavailable: true, allow_no_indices: true })
      .then((r) => r.count);
  if ((await count({ match_all: {} })) === 0) return 0;
  if ((await count({ bool: { must_not: [{ term: { 'model.name': ds.model.name } }] } })) > 0)
    throw new Error(
      `namespace ${namespace} holds predictions of other models than ${ds.model.name}: give the demo a namespace of its own (--namespace)`,
    );
  const resolved = await client.indices.resolveIndex({
    name: `logs-mlmon.*-${namespace},metrics-mlmon.*-${namespace}`,
    expand_wildcards: 'all',
  });
  // All streams at once, then one delete of their earlier backing indices: one after the other,
  // each rollover waited for its own cluster-state update (a demo re-run's clean-up: 1.1-1.4 s on a
  // quiet machine, 42-73 s under load, against 0.6 s at once).
  const counts = await Promise.all(
    resolved.data_streams.map(async (stream) => {
      const { count: documents } = await client.count({ index: stream.name });
      await client.indices.rollover({ alias: stream.name });
      return documents;
    }),
  );
  const earlier = resolved.data_streams.flatMap((stream) => stream.backing_indices as string[]);
  if (earlier.length > 0) await client.indices.delete({ index: earlier.join(',') });
  const removed = counts.reduce((sum, n) => sum + n, 0);
  await deleteJoinState(client, namespace, ds.model.name);
  const ids: string[] = [];
  for (const job of JOBS) {
    const target = { job, model: { name: ds.model.name, version: ds.model.version }, namespace };
    ids.push(checkpointId(target), labelCursorId(target));
    for (let t = from; t < to; t += ds.window.ms) ids.push(windowStateId(target, new Date(t)));
  }
  await client.bulk({
    refresh: true,
    operations: ids.map((id) => ({ delete: { _index: STATE_INDEX, _id: id } })),
  });
  return removed;
}
