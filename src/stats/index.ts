/**
 * Pure statistics: no I/O. Grouped by concern because both halves have binning helpers of the
 * same name with different conventions (drift bins by reference quantiles, ROC by score).
 */
export * as drift from './drift/index.js';
export * as performance from './performance/index.js';
