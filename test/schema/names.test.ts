/**
 * The one home of stream names, result ids and the window filter. Expected values are written out
 * by hand from docs/DESIGN.md ("Data streams and indices", "Result documents"), not computed with
 * the code under test.
 */
import { describe, expect, it } from 'vitest';
import { rangeQuery, windowFilter } from '../../src/elastic/filters.js';
import { resultId, withoutNulls } from '../../src/schema/result-document.js';
import {
  logStream,
  namespacePattern,
  parseStream,
  dataStreamFields,
  processStream,
  resultStream,
  streamNames,
  streamPattern,
} from '../../src/schema/streams.js';

const start = new Date('2024-03-02T00:00:00Z');
const end = new Date('2024-03-03T00:00:00Z');

describe('stream names', () => {
  it('follow {type}-mlmon.{kind}-{namespace}', () => {
    expect(logStream('prediction', 'prod')).toBe('logs-mlmon.prediction-prod');
    expect(logStream('outcome')).toBe('logs-mlmon.outcome-default');
    expect(resultStream('drift', 'prod')).toBe('metrics-mlmon.drift-prod');
    expect(streamPattern('deadletter')).toBe('logs-mlmon.deadletter-*');
    expect(streamPattern('evaluation')).toBe('metrics-mlmon.evaluation-*');
    expect(namespacePattern('prod')).toBe('*-mlmon.*-prod');
    expect(streamNames('prod')).toEqual({
      prediction: 'logs-mlmon.prediction-prod',
      outcome: 'logs-mlmon.outcome-prod',
      deadletter: 'logs-mlmon.deadletter-prod',
      drift: 'metrics-mlmon.drift-prod',
      quality: 'metrics-mlmon.quality-prod',
      evaluation: 'metrics-mlmon.evaluation-prod',
      performance: 'metrics-mlmon.performance-prod',
      service: 'metrics-mlmon.service-prod',
      process: 'metrics-mlmon.process-prod',
      baselines: 'mlmon-baselines',
      state: 'mlmon-state',
    });
  });

  it('data_stream fields: the name split as Elastic names data streams', () => {
    expect(processStream('prod')).toBe('metrics-mlmon.process-prod');
    expect(dataStreamFields('metrics-mlmon.process-prod')).toEqual({
      type: 'metrics',
      dataset: 'mlmon.process',
      namespace: 'prod',
    });
    expect(dataStreamFields(logStream('prediction', 'eu_west'))).toEqual({
      type: 'logs',
      dataset: 'mlmon.prediction',
      namespace: 'eu_west',
    });
    expect(dataStreamFields('mlmon-baselines')).toBeUndefined();
  });

  it('parse back, and anything else is not ours', () => {
    expect(parseStream('metrics-mlmon.drift-prod_eu')).toEqual({
      type: 'metrics',
      kind: 'drift',
      namespace: 'prod_eu',
    });
    expect(parseStream('logs-mlmon.prediction-default')).toEqual({
      type: 'logs',
      kind: 'prediction',
      namespace: 'default',
    });
    expect(parseStream('metrics-system.cpu-default')).toBeUndefined();
    expect(parseStream('mlmon-state')).toBeUndefined();
  });
});

describe('result ids', () => {
  it('keep the drift and quality ids of before the unification', () => {
    // Values printed by resultDocumentId of commit 4f3ee2d (src/analyzer/results.ts) for the same
    // inputs; the first also equals `printf '["drift","fraud","3","amount","2024-03-02T00:00:00.000Z",
    // "2024-03-03T00:00:00.000Z"]' | sha256sum` (without the line break), first 40 digits.
    expect(resultId('drift', ['fraud', '3', 'amount', start.toISOString(), end.toISOString()])).toBe(
      'e21fda78f37f44008e7e7f9b99cfc9feef0f68fb',
    );
    expect(resultId('quality', ['fraud', '3', '_dataset', start.toISOString(), end.toISOString()])).toBe(
      'aa86077c0c24198f42af9871640e95c12a0d31eb',
    );
  });

  it('are one scheme for every kind: kind inside the hash, no prefix', () => {
    // sha256sum of ["service","fraud","3","2024-03-02T00:00:00.000Z","2024-03-03T00:00:00.000Z"];
    // the id of 4f3ee2d was service-664a0ebeea1b2d3d430e68deb059b0472c26aec2.
    expect(resultId('service', ['fraud', '3', start.toISOString(), end.toISOString()])).toBe(
      'be8475a6dd080279b781a40d6d588c7b86b4b1ed',
    );
    // null and undefined parts are the same part; different kinds never share an id.
    expect(resultId('performance', ['m', '1', null, 'x'])).toBe(
      resultId('performance', ['m', '1', undefined, 'x']),
    );
    expect(resultId('performance', ['m', '1'])).not.toBe(resultId('fairness', ['m', '1']));
    // Any characters in a name still give a 40-digit id.
    expect(resultId('drift', ['a/b c'.repeat(200), '1'])).toMatch(/^[0-9a-f]{40}$/);
  });

  it('documents drop nulls recursively, keep zeros, false and dates', () => {
    const d = new Date(0);
    expect(withoutNulls({ a: null, b: 0, c: { d: undefined, e: false, f: [1, null] }, g: d })).toEqual({
      b: 0,
      c: { e: false, f: [1, null] },
      g: d,
    });
  });
});

describe('filters', () => {
  it('a window is [start, end) on @timestamp', () => {
    expect(windowFilter({ start, end })).toEqual({
      range: {
        '@timestamp': {
          gte: '2024-03-02T00:00:00.000Z',
          lt: '2024-03-03T00:00:00.000Z',
          format: 'strict_date_optional_time',
        },
      },
    });
  });

  it('the model filter is the window filter plus model (and version) terms', () => {
    expect(rangeQuery({ model: 'fraud' }, start, end)).toEqual({
      bool: { filter: [{ term: { 'model.name': 'fraud' } }, windowFilter({ start, end })] },
    });
    expect(rangeQuery({ model: 'fraud', version: '3' }, start, end)).toEqual({
      bool: {
        filter: [
          { term: { 'model.name': 'fraud' } },
          windowFilter({ start, end }),
          { term: { 'model.version': '3' } },
        ],
      },
    });
  });
});
