/**
 * The bulk-item classifier, table-driven over items captured from a real Elasticsearch 9.5.3
 * (fixtures/bulk-items.json, written by fixtures/capture-bulk-items.ts: one `create` per bulk
 * request with the shipper's filter_path, the answer's item stored untouched). Pure: no cluster.
 */
import { describe, expect, it } from 'vitest';
import {
  classifyBulkItem,
  classifyRequestFailure,
  type BulkItemOutcome,
  type BulkResponseItem,
} from '../../src/logger/bulk-item.js';
import captured from './fixtures/bulk-items.json' with { type: 'json' };

const items = captured.items as Record<string, BulkResponseItem>;

describe('classifyBulkItem on real answers', () => {
  it.each<[string, BulkItemOutcome['kind'], string | undefined]>([
    // 201: stored.
    ['created', 'stored', undefined],
    // 409 version_conflict_engine_exception on a second `create` of id "a": already stored.
    ['conflict', 'conflict', undefined],
    // 400 document_parsing_exception: "not a date" in @timestamp (a date in mlmon's mapping).
    ['mappingConflict', 'dead-letter', 'document_parsing_exception'],
    // 400 illegal_argument_exception: an upper-case data stream name.
    ['invalidIndexName', 'dead-letter', 'illegal_argument_exception'],
    // 429 cluster_block_exception: the flood-stage read_only_allow_delete block (passes once disk frees).
    ['floodStageBlock', 'retry', undefined],
    // 403 cluster_block_exception: an index.blocks.write block (an operator lifts it): retried, not lost.
    ['writeBlock', 'retry', undefined],
  ])('%s → %s', (name, kind, errorType) => {
    const outcome = classifyBulkItem(items[name]);
    expect(outcome.kind).toBe(kind);
    if (outcome.kind === 'dead-letter') {
      expect(outcome.reason.type).toBe(errorType);
      expect(outcome.reason.status).toBe(400);
      expect(outcome.reason.stage).toBe('index');
    }
    if (outcome.kind === 'retry') expect(outcome.status).toBe(items[name]?.create?.status);
  });

  it('the dead-letter reason carries the caused_by chain of the real mapping conflict', () => {
    const outcome = classifyBulkItem(items.mappingConflict);
    if (outcome.kind !== 'dead-letter') throw new Error(`expected a dead letter, got ${outcome.kind}`);
    // The three levels of the captured error, in order.
    expect(outcome.reason.message).toMatch(
      /^document_parsing_exception: .*@timestamp.* \/ caused by illegal_argument_exception: failed to parse date field .* \/ caused by date_time_parse_exception: /,
    );
    expect(outcome.reason.reason).toContain(
      "failed to parse field [@timestamp] of type [date] in document with id 'b'",
    );
  });
});

describe('classifyBulkItem edge cases (constructed, not captured)', () => {
  it('no item for the document (a short answer) is retried, not lost', () => {
    expect(classifyBulkItem(undefined)).toEqual({ kind: 'retry', status: undefined });
  });

  it('a 403 that is not a block (missing privilege) is held for the operator (issue 25); 408 and 503 are retried', () => {
    const forbidden = classifyBulkItem({
      create: {
        status: 403,
        error: { type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized' },
      },
    });
    expect(forbidden.kind).toBe('hold');
    // require_data_stream refused (no template): held too, never an index with guessed mappings.
    const noTemplate = classifyBulkItem({
      create: {
        status: 404,
        error: {
          type: 'index_not_found_exception',
          reason:
            'no such index [logs-mlmon.prediction-x] and the index creation request requires a data stream, ' +
            'but no matching index template with data stream template was found for it',
        },
      },
    });
    expect(noTemplate).toMatchObject({ kind: 'hold', why: 'no-stream' });
    const plainIndex = classifyBulkItem({
      create: {
        status: 404,
        error: {
          type: 'resource_not_found_exception',
          reason:
            '[require_data_stream] request flag is [true] and [logs-mlmon.prediction-x] is not a data stream',
        },
      },
    });
    expect(plainIndex).toMatchObject({ kind: 'hold', why: 'no-stream' });
    expect(classifyBulkItem({ create: { status: 408 } }).kind).toBe('retry');
    expect(classifyBulkItem({ create: { status: 503 } }).kind).toBe('retry');
    // An `index` action's answer is read the same way as `create`'s.
    expect(classifyBulkItem({ index: { status: 200 } }).kind).toBe('stored');
  });
});

describe('classifyRequestFailure', () => {
  const failed = (statusCode?: number) =>
    Object.assign(new Error('request failed'), { meta: { statusCode } });

  it('no answer, 429, 5xx, 401 and 403 mean an outage; only 429 and 408 pass without a warning', () => {
    expect(classifyRequestFailure(new Error('ECONNREFUSED'))).toEqual({
      kind: 'outage',
      status: undefined,
      warn: true,
    });
    expect(classifyRequestFailure(failed(429))).toEqual({ kind: 'outage', status: 429, warn: false });
    expect(classifyRequestFailure(failed(408))).toEqual({ kind: 'outage', status: 408, warn: false });
    expect(classifyRequestFailure(failed(503))).toEqual({ kind: 'outage', status: 503, warn: true });
    expect(classifyRequestFailure(failed(401))).toEqual({ kind: 'outage', status: 401, warn: true });
    expect(classifyRequestFailure(failed(403))).toEqual({ kind: 'outage', status: 403, warn: true });
  });

  it('413 for the request as a whole is rejected (the shipper halves the batch); another 4xx is held with a warning', () => {
    expect(classifyRequestFailure(failed(413))).toEqual({ kind: 'rejected', status: 413 });
    // A wrong path or proxy answers every request so: halving would dead-letter (and drop) them all.
    expect(classifyRequestFailure(failed(400))).toEqual({ kind: 'outage', status: 400, warn: true });
    expect(classifyRequestFailure(failed(404))).toEqual({ kind: 'outage', status: 404, warn: true });
  });
});
