/** Test data for the performance jobs: a seeded generator and bulk writes into the real streams. */
import type { Client } from '@elastic/elasticsearch';
import { deleteJoinState } from '../../src/analyzer/join.js';
import { baselineDocumentId } from '../../src/profiles/store.js';
import { BASELINES_INDEX, streamNames } from '../../src/schema/streams.js';
import { seededRandom } from '../helpers/random.js';

export { seededRandom };

/** Standard normal draw (Box–Muller). */
export function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Writes documents into a data stream with op_type create (as the logger does), then refreshes. */
export async function bulkCreate(
  client: Client,
  index: string,
  docs: Array<{ id?: string; document: Record<string, unknown> }>,
): Promise<void> {
  const chunk = 5000;
  for (let i = 0; i < docs.length; i += chunk) {
    const operations = docs
      .slice(i, i + chunk)
      .flatMap((d) => [{ create: { _index: index, ...(d.id ? { _id: d.id } : {}) } }, d.document]);
    const response = await client.bulk({ operations });
    if (response.errors) {
      const failed = response.items.find((it) => it.create?.error);
      throw new Error(`bulk into ${index} failed: ${JSON.stringify(failed?.create?.error)}`);
    }
  }
  await client.indices.refresh({ index });
}

export function writePredictions(
  client: Client,
  namespace: string,
  docs: Array<Record<string, unknown> & { prediction: { id: string; [field: string]: unknown } }>,
): Promise<void> {
  return bulkCreate(
    client,
    streamNames(namespace).prediction,
    docs.map((document) => ({ id: document.prediction.id, document })),
  );
}

export function writeOutcomes(
  client: Client,
  namespace: string,
  docs: Array<Record<string, unknown>>,
): Promise<void> {
  return bulkCreate(
    client,
    streamNames(namespace).outcome,
    docs.map((document) => ({ document })),
  );
}

/** Deletes every stream of a test namespace and the join state (checkpoint, pending outcomes) of its models. */
export async function dropNamespace(client: Client, namespace: string, models: string[]): Promise<void> {
  await client.indices.deleteDataStream({ name: `*-mlmon.*-${namespace}` }).catch(() => undefined);
  for (const model of models) await deleteJoinState(client, namespace, model).catch(() => undefined);
}

/** Removes the baselines a test stored under the id `namespace` (version 1 of each model). */
export async function dropBaselines(client: Client, namespace: string, models: string[]): Promise<void> {
  for (const model of models)
    await client
      .delete({
        index: BASELINES_INDEX,
        id: baselineDocumentId({ model, version: '1', id: namespace, namespace }),
      })
      .catch(() => undefined);
}

/** The documents of a stream matching a query (default all), as id and source. */
export async function documentsOf<T>(
  client: Client,
  index: string,
  query: Record<string, unknown> = { match_all: {} },
): Promise<Array<{ id: string; source: T }>> {
  await client.indices.refresh({ index, ignore_unavailable: true });
  const response = await client.search<T>({ index, size: 10_000, query, ignore_unavailable: true });
  return response.hits.hits.map((h) => ({ id: h._id as string, source: h._source as T }));
}
