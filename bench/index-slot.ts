/**
 * The benchmarks' loader: a slot of n generated prediction documents indexed once into a namespace
 * (bulk, 8 MB requests, 2 at a time), skipped when the slot already holds n documents, refused
 * when it holds another number (delete the namespace first).
 */
import type { Client } from '@elastic/elasticsearch';
import { logStream } from '../src/schema/streams.js';

export async function indexSlot(
  client: Client,
  namespace: string,
  n: number,
  have: number,
  documents: AsyncGenerator<Record<string, unknown>>,
): Promise<void> {
  if (have === n) return;
  if (have !== 0)
    throw new Error(`namespace ${namespace} holds ${have} documents for a slot of ${n}: delete it first`);
  const t = Date.now();
  const result = await client.helpers.bulk({
    datasource: documents,
    onDocument: () => ({ create: { _index: logStream('prediction', namespace) } }),
    flushBytes: 8_000_000,
    concurrency: 2,
    refreshOnCompletion: true,
  });
  if (result.failed > 0) throw new Error(`${result.failed} documents failed`);
  console.log(`indexed ${n} documents in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
