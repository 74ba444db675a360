/** Pure statistics: no I/O. */
export * from './performance/index.js';
