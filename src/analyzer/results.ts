/**
 * Result documents and their writer. Ids are deterministic (model, version, field, window), so a
 * re-run or a second analyzer replica overwrites instead of adding. Data streams accept only
 * `create`, and after a rollover a `create` of an existing id would land in the new write index
 * and duplicate it; so the writer first looks the ids up across the stream and overwrites the ones
 * it finds in their backing index (an `index` with if_seq_no / if_primary_term), creating the rest.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { finiteOrNull } from '../profiles/profile.js';
import type { FieldResult } from './evaluate.js';

export type ResultStream = 'drift' | 'quality';

export function resultStream(kind: ResultStream, namespace: string): string {
  return `metrics-mlmon.${kind}-${namespace}`;
}

/** Document id: a hash of (stream kind, model, version, field name, window start, window end). */
export function resultDocumentId(
  kind: ResultStream,
  model: string,
  version: string,
  field: string,
  start: Date,
  end: Date,
): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, model, version, field, start.toISOString(), end.toISOString()]))
    .digest('hex')
    .slice(0, 40);
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
}

export interface ResultContext {
  model: string;
  version: string;
  start: Date;
  end: Date;
  windowSize: string;
  count: number;
  reference: { id: string; type: string; count: number };
  sample?: { probability: number };
}

export interface PendingDocument {
  stream: ResultStream;
  id: string;
  document: Record<string, unknown>;
}

function common(ctx: ResultContext): Record<string, unknown> {
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
        id: resultDocumentId('drift', ctx.model, ctx.version, f.name, ctx.start, ctx.end),
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
      id: resultDocumentId('quality', ctx.model, ctx.version, f.name, ctx.start, ctx.end),
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
    id: resultDocumentId('drift', ctx.model, ctx.version, DATASET_FEATURE, ctx.start, ctx.end),
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
}

/** Write documents (create new ids, overwrite existing ones wherever they are). */
export async function writeResults(
  client: Client,
  namespace: string,
  documents: readonly PendingDocument[],
  options: { refresh?: boolean } = {},
): Promise<WriteReport> {
  const report: WriteReport = { created: 0, overwritten: 0 };
  let pending = [...documents];
  // A second pass handles races with another writer (a create that found the id taken, an
  // overwrite whose sequence number moved); more conflicts than that are an error.
  for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
    const located = await locate(client, namespace, pending);
    const operations: unknown[] = [];
    for (const d of pending) {
      const where = located.get(`${d.stream}/${d.id}`);
      if (where) {
        operations.push(
          {
            index: {
              _index: where.index,
              _id: d.id,
              if_seq_no: where.seqNo,
              if_primary_term: where.primaryTerm,
            },
          },
          d.document,
        );
      } else {
        operations.push({ create: { _index: resultStream(d.stream, namespace), _id: d.id } }, d.document);
      }
    }
    const response = await client.bulk({ operations, refresh: options.refresh ? 'wait_for' : false });
    const retry: PendingDocument[] = [];
    const failures: string[] = [];
    response.items.forEach((item, k) => {
      const [action, result] = Object.entries(item)[0] as [
        string,
        { status: number; error?: { type?: string; reason?: string } },
      ];
      const doc = pending[k] as PendingDocument;
      if (result.status >= 200 && result.status < 300) {
        if (action === 'create') report.created++;
        else report.overwritten++;
      } else if (result.status === 409) retry.push(doc);
      else
        failures.push(
          `${resultStream(doc.stream, namespace)}/${doc.id}: ${result.error?.type}: ${result.error?.reason}`,
        );
    });
    if (failures.length > 0) {
      throw new Error(
        `Writing ${failures.length} result document(s) failed: ${failures.slice(0, 3).join('; ')}`,
      );
    }
    pending = retry;
  }
  if (pending.length > 0)
    throw new Error(`${pending.length} result document(s) kept conflicting with another writer`);
  return report;
}

interface Location {
  index: string;
  seqNo: number;
  primaryTerm: number;
}

/**
 * Where each id already is, across every backing index of its stream. A real-time multi-get (not a
 * search) so that documents written a moment ago, not yet refreshed, are found too.
 */
async function locate(
  client: Client,
  namespace: string,
  documents: readonly PendingDocument[],
): Promise<Map<string, Location>> {
  const found = new Map<string, Location>();
  for (const stream of ['drift', 'quality'] as const) {
    const ids = documents.filter((d) => d.stream === stream).map((d) => d.id);
    if (ids.length === 0) continue;
    const backing = await backingIndices(client, resultStream(stream, namespace));
    if (backing.length === 0) continue;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const r = await client.mget({
        docs: backing.flatMap((index) => chunk.map((id) => ({ _index: index, _id: id }))),
        _source: false,
      });
      for (const d of r.docs) {
        const hit = d as {
          _index: string;
          _id: string;
          found?: boolean;
          _seq_no?: number;
          _primary_term?: number;
        };
        if (hit.found && hit._seq_no !== undefined && hit._primary_term !== undefined) {
          found.set(`${stream}/${hit._id}`, {
            index: hit._index,
            seqNo: hit._seq_no,
            primaryTerm: hit._primary_term,
          });
        }
      }
    }
  }
  return found;
}

/** Backing indices of a data stream (or the index itself when it is a plain index); [] when absent. */
async function backingIndices(client: Client, name: string): Promise<string[]> {
  let r;
  try {
    r = await client.indices.resolveIndex({ name, expand_wildcards: 'all' });
  } catch (error) {
    if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return [];
    throw error;
  }
  const ds = r.data_streams.find((d) => d.name === name);
  if (ds) return Array.isArray(ds.backing_indices) ? ds.backing_indices : [ds.backing_indices];
  return r.indices.filter((x) => x.name === name).map((x) => x.name);
}
