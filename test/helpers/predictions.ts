import type { Client } from '@elastic/elasticsearch';
import { installTemplates } from '../../src/elastic/templates.js';
import { logStream } from '../../src/schema/streams.js';
import { seededRandom } from './random.js';

export { seededRandom };

export function normal(rand: () => number): number {
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface PredictionInput {
  timestamp: Date;
  model?: string;
  version?: string;
  features: Record<string, number | string | null>;
  prediction?: Record<string, number | string>;
  /** Per-feature attributions, stored under `explanation.<feature>`. */
  explanation?: Record<string, number>;
  quality?: Record<string, string[]>;
}

/** Index prediction documents as the logger would (field names of DESIGN.md), refresh at the end. */
export async function indexPredictions(
  client: Client,
  namespace: string,
  rows: readonly PredictionInput[],
  defaults: { model: string; version: string },
): Promise<void> {
  await installTemplates(client);
  const datasource = rows.map((r) => ({
    '@timestamp': r.timestamp.toISOString(),
    model: { name: r.model ?? defaults.model, version: r.version ?? defaults.version },
    features: r.features,
    ...(r.prediction ? { prediction: r.prediction } : {}),
    ...(r.explanation ? { explanation: r.explanation } : {}),
    ...(r.quality ? { mlmon: { quality: r.quality } } : {}),
  }));
  const result = await client.helpers.bulk({
    datasource,
    onDocument: () => ({ create: { _index: logStream('prediction', namespace) } }),
    flushBytes: 5_000_000,
    concurrency: 2,
    refreshOnCompletion: true,
  });
  if (result.failed > 0) throw new Error(`${result.failed} documents failed to index`);
}
