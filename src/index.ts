/**
 * The package root. It must stay light: a service that imports `mlmon` for the logger API must not
 * load the analyzer, the report renderer or the CLI. Export only light modules from here.
 */
export * from './logger/index.js';
