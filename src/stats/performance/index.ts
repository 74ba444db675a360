/**
 * Pure model-performance statistics (no I/O). The analyzer feeds them sufficient statistics from
 * Elasticsearch aggregations; the raw-array variants serve tests and the offline mode.
 */
export * from './binary.js';
export * from './roc.js';
export * from './probabilistic.js';
export * from './multiclass.js';
export * from './regression.js';
export * from './cbpe.js';
export * from './distributions.js';
export * from './compare.js';
export * from './fairness.js';
export * from './degraded.js';
export * from './calibration.js';
export * from './cbpe-window.js';
export * from './dle.js';
export * from './cbpe-bands.js';
export * from './cbpe-multiclass.js';
export * from './calibration-crossfit.js';
export * from './cbpe-multiclass-calibration.js';
