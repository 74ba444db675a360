/**
 * Result documents and their writer. Ids are deterministic (model, version, field, window), so a
 * re-run or a second analyzer replica overwrites instead of adding. Data streams accept only
 * `create`, and after a rollover a `create` of an existing id would land in the new write index
 * and duplicate it; so the writer first looks the ids up across the stream and overwrites the ones
 * it finds in their backing index (an `index` with if_seq_no / if_primary_term), creating the rest.
 */
import type { Client } from '@elastic/elasticsearch';
import { upsertIntoDataStream } from '../elastic/upsert.js';
import { resultId } from '../schema/result-document.js';
import { resultStream } from '../schema/streams.js';
import { finiteOrNull } from '../profiles/profile.js';
import type { ImportanceRanking } from '../stats/importance.js';
import type { FieldResult } from './field-result.js';

export type ResultStream = 'drift' | 'quality';

/** Document id of a field's drift or quality result in one window (see resultId). */
function fieldResultId(kind: ResultStream, ctx: ResultContext, field: string): string {
  return resultId(kind, [ctx.model, ctx.version, field, ctx.start.toISOString(), ctx.end.toISOString()]);
}

/** Name under which the dataset-level summary is stored (`feature.name`). */
export const DATASET_FEATURE = '_dataset';

export interface WindowSummary {
  /** Model input features with a drift decision. */
  features: number;
  drifted: number;
  drift_share: number;
  drifted_features: string[];
  /** Outputs, target and explanations with a drift decision, and which of them drifted. */
  outputs_drifted: string[];
  concept_drifted: string[];
  /**
   * When the reference has attributions (`explanation.*`): features ranked by importance (share of
   * the reference's mean |attribution|) × PSI, and the importance-weighted drift share.
   */
  importance?: ImportanceRanking & { source: 'explanation' };
}

export interface ResultContext {
  model: string;
  version: string;
  start: Date;
  end: Date;
  windowSize: string;
  count: number;
  reference: { id: string; type: string; count: number };
  /** Sampled window: the probability, the documents seen, and the KS error bound (DKW, 95 %). */
  sample?: { probability: number; documents?: number; ks_error_95?: number };
}

export interface PendingDocument {
  stream: ResultStream;
  id: string;
  document: Record<string, unknown>;
}

/** The fields every drift and quality document of a window shares (also multivariate.ts's). */
export function common(ctx: ResultContext): Record<string, unknown> {
  return {
    '@timestamp': ctx.end.toISOString(),
    window: {
      start: ctx.start.toISOString(),
      end: ctx.end.toISOString(),
      count: ctx.count,
      size: ctx.windowSize,
    },
    model: { name: ctx.model, version: ctx.version },
    reference: ctx.reference,
    ...(ctx.sample ? { sample: ctx.sample } : {}),
  };
}

/** Drift and quality documents of one window, plus the dataset summary. */
export function windowDocuments(
  ctx: ResultContext,
  fields: readonly FieldResult[],
  summary: WindowSummary,
): PendingDocument[] {
  const docs: PendingDocument[] = [];
  for (const f of fields) {
    const feature = { name: f.name, kind: f.kind, type: f.type, field: f.field, role: f.role };
    if (f.drift) {
      docs.push({
        stream: 'drift',
        id: fieldResultId('drift', ctx, f.name),
        document: {
          ...common(ctx),
          feature,
          feature_count: f.count,
          drift: jsonSafe(f.drift),
          ...(f.concept ? { concept: jsonSafe(f.concept) } : {}),
        },
      });
    }
    docs.push({
      stream: 'quality',
      id: fieldResultId('quality', ctx, f.name),
      document: {
        ...common(ctx),
        feature,
        feature_count: f.count,
        quality: jsonSafe(f.quality),
        ...(f.new_categories ? { new_categories: f.new_categories } : {}),
        ...(f.note ? { note: f.note } : {}),
      },
    });
  }
  docs.push({
    stream: 'drift',
    id: fieldResultId('drift', ctx, DATASET_FEATURE),
    document: { ...common(ctx), feature: { name: DATASET_FEATURE, kind: 'dataset' }, summary },
  });
  return docs;
}

function jsonSafe<T extends object>(o: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'number' ? finiteOrNull(v) : v;
  return out;
}

export interface WriteReport {
  created: number;
  overwritten: number;
  unchanged: number;
}

/** Write documents: create new ids, replace existing ones wherever they are (see upsert.ts). */
export async function writeResults(
  client: Client,
  namespace: string,
  documents: readonly PendingDocument[],
  options: { refresh?: boolean } = {},
): Promise<WriteReport> {
  const report: WriteReport = { created: 0, overwritten: 0, unchanged: 0 };
  for (const stream of ['drift', 'quality'] as const) {
    const docs = documents
      .filter((d) => d.stream === stream)
      .map((d) => ({ id: d.id, document: d.document }));
    if (docs.length === 0) continue;
    const name = resultStream(stream, namespace);
    const written = await upsertIntoDataStream(client, name, docs, { refresh: options.refresh });
    if (written.failed.length > 0) {
      const sample = written.failed.slice(0, 3).map((f) => `${name}/${f.id}: ${f.status} ${f.reason}`);
      throw new Error(`Writing ${written.failed.length} result document(s) failed: ${sample.join('; ')}`);
    }
    report.created += written.created;
    report.overwritten += written.updated;
    report.unchanged += written.unchanged;
  }
  return report;
}
