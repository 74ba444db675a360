/**
 * Builders for Kibana saved objects in the format Kibana 8.19 exports (the oldest Kibana mlmon
 * supports; the import API migrates these objects up into 9.x). Everything here is data: ids are
 * stable strings chosen by mlmon so that a re-import overwrites instead of duplicating, and the
 * objects are generated from the panel specifications in dashboards.ts rather than hand-edited.
 *
 * Shapes were read from elastic/kibana (see kibana/README.md for the commits): the index-pattern,
 * lens, dashboard and links saved-object types, and a real 8.x export from
 * x-pack/test/functional/fixtures/kbn_archiver/lens/.
 */
import {
  streamPattern,
  type LogStreamKind,
  type ProcessStreamKind,
  type ResultStreamKind,
} from '../schema/streams.js';

/** Kibana version whose export format the objects follow. */
export const KIBANA_FORMAT_VERSION = '8.19.0';
/** Oldest Kibana the installer accepts. */
export const KIBANA_MIN_VERSION = '8.19.0';

export interface Reference {
  name: string;
  type: string;
  id: string;
}

export interface SavedObject {
  type: 'index-pattern' | 'lens' | 'visualization' | 'dashboard' | 'links';
  id: string;
  attributes: Record<string, unknown>;
  references: Reference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
  managed: boolean;
}

/** Migration versions each type had in Kibana 8.19, so that import runs only the later migrations. */
const TYPE_MIGRATION_VERSION: Record<SavedObject['type'], string> = {
  'index-pattern': '8.0.0',
  lens: '8.9.0',
  visualization: '8.5.0',
  dashboard: '10.2.0',
  links: '10.1.0',
};

export function savedObject(
  type: SavedObject['type'],
  id: string,
  attributes: Record<string, unknown>,
  references: Reference[] = [],
): SavedObject {
  return {
    type,
    id,
    attributes,
    references,
    coreMigrationVersion: '8.8.0',
    typeMigrationVersion: TYPE_MIGRATION_VERSION[type],
    managed: false,
  };
}

export type DataViewKind = LogStreamKind | ResultStreamKind | ProcessStreamKind;

/** Display formats Kibana applies to a field (index-pattern `fieldFormatMap`). */
export type FieldFormat = 'percent' | 'duration-ms' | 'duration-ns' | 'bytes' | 'number';

export function fieldFormatEntry(format: FieldFormat): { id: string; params?: Record<string, unknown> } {
  switch (format) {
    case 'percent':
      return { id: 'percent', params: { pattern: '0.[00]%' } };
    case 'duration-ms':
      return {
        id: 'duration',
        params: { inputFormat: 'milliseconds', outputFormat: 'humanizePrecise', outputPrecision: 1 },
      };
    case 'duration-ns':
      return {
        id: 'duration',
        params: { inputFormat: 'nanoseconds', outputFormat: 'humanizePrecise', outputPrecision: 1 },
      };
    case 'bytes':
      return { id: 'bytes' };
    case 'number':
      return { id: 'number', params: { pattern: '0,0.[000]' } };
  }
}

/** Per data view: fields with a display format (rates and accuracies as percent, latency as duration). */
export const FIELD_FORMATS: Record<DataViewKind, Record<string, FieldFormat>> = {
  prediction: { 'event.duration': 'duration-ns', 'prediction.score': 'percent' },
  outcome: {},
  deadletter: {},
  drift: { 'summary.drift_share': 'percent' },
  quality: {
    'quality.missing_rate': 'percent',
    'quality.out_of_range_rate': 'percent',
    'quality.unseen_category_rate': 'percent',
    'quality.type_mismatch_rate': 'percent',
  },
  performance: {
    'performance.accuracy': 'percent',
    'performance.precision': 'percent',
    'performance.recall': 'percent',
    'performance.f1': 'percent',
    'performance.f1_macro': 'percent',
    'performance.label_coverage': 'percent',
    'performance.estimated.accuracy': 'percent',
    'performance.estimated.precision': 'percent',
    'performance.estimated.recall': 'percent',
    'performance.estimated.f1': 'percent',
  },
  service: {
    'service.latency.p50': 'duration-ms',
    'service.latency.p95': 'duration-ms',
    'service.latency.p99': 'duration-ms',
    'service.error_rate': 'percent',
  },
  process: {
    'process.cpu.pct': 'percent',
    'process.memory.rss': 'bytes',
    'process.memory.heap_used': 'bytes',
    'process.event_loop.lag_ms': 'duration-ms',
    'process.event_loop.lag_p99_ms': 'duration-ms',
  },
  evaluation: {},
};

export const DATA_VIEW_KINDS: readonly DataViewKind[] = [
  'prediction',
  'outcome',
  'deadletter',
  'drift',
  'quality',
  'performance',
  'service',
  'process',
];

export function dataViewId(kind: DataViewKind): string {
  return `mlmon-dv-${kind}`;
}

const DATA_VIEW_NAMES: Record<DataViewKind, string> = {
  prediction: 'mlmon predictions',
  outcome: 'mlmon outcomes',
  deadletter: 'mlmon dead letters',
  drift: 'mlmon drift results',
  quality: 'mlmon data-quality results',
  performance: 'mlmon performance results',
  service: 'mlmon service health',
  process: 'mlmon service processes',
  evaluation: 'mlmon evaluations',
};

/** A data view over every namespace of one stream (`metrics-mlmon.drift-*`), time field `@timestamp`. */
export function dataView(kind: DataViewKind): SavedObject {
  const formats = Object.fromEntries(
    Object.entries(FIELD_FORMATS[kind]).map(([field, format]) => [field, fieldFormatEntry(format)]),
  );
  return savedObject('index-pattern', dataViewId(kind), {
    title: streamPattern(kind),
    name: DATA_VIEW_NAMES[kind],
    timeFieldName: '@timestamp',
    allowNoIndex: true,
    fieldFormatMap: JSON.stringify(formats),
    fieldAttrs: '{}',
    fields: '[]',
    runtimeFieldMap: '{}',
    sourceFilters: '[]',
    typeMeta: '{}',
  });
}
