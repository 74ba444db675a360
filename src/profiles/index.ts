export * from './types.js';
export * from './from-file.js';
export * from './calibration.js';
