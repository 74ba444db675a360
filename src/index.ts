/**
 * The package root. It must stay light: a service that imports `mlmon` for the logger API must not
 * load the analyzer, the scheduler, the CLI, nor the report and Kibana modules (src/report,
 * src/kibana) (test/logger/light-import.test.ts). Export only light modules from here.
 */
export * from './logger/index.js';
