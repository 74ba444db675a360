/**
 * Refreshing the input streams before an analysis reads them (docs/performance.md, section 8).
 */
import type { Client } from '@elastic/elasticsearch';
import { streamNames } from '../schema/streams.js';

/**
 * Makes every document acknowledged so far searchable in the streams an analysis reads.
 *
 * Elasticsearch is near-real-time: a document is searchable after the next refresh (every second
 * on a stream searched recently, later on an idle one). So "flush, then analyze" (a script, a test,
 * the demo) would see whatever happened to be refreshed. An explicit refresh costs next to nothing
 * when nothing is new, and one small segment otherwise; live windows analyzed by the scheduler are
 * past their `delay`, so there it only settles the last second (docs/performance.md).
 */
export async function refreshInputs(client: Client, namespace: string): Promise<void> {
  const streams = streamNames(namespace);
  await client.indices.refresh({
    index: [streams.prediction, streams.outcome].join(','),
    ignore_unavailable: true,
    allow_no_indices: true,
  });
}

/**
 * Makes the result documents written so far searchable: a report, a dashboard or a test that reads
 * the results right after a pass must see that pass (the result streams are written in bulk with
 * `refresh: false`, and a point-in-time search opened before the next refresh would miss them).
 */
export async function refreshResults(client: Client, namespace: string): Promise<void> {
  const streams = streamNames(namespace);
  await client.indices.refresh({
    index: [streams.drift, streams.quality, streams.performance, streams.service, streams.evaluation].join(
      ',',
    ),
    ignore_unavailable: true,
    allow_no_indices: true,
  });
}
