/**
 * The mlmon configuration file (`mlmon.config.json` or `mlmon.config.yaml`):
 * - schema.ts: the keys, their defaults and conversions, and the types inferred from them;
 * - problems.ts: errors that name the path of each bad key;
 * - env.ts: `${VAR}` references and the variables that override the file;
 * - redact.ts: which keys are secrets, and a copy of the configuration fit for logs;
 * - load.ts: finding, parsing and validating the file.
 *
 * Secrets are never echoed: messages say what is wrong with a key, not what its value was, and
 * parse errors report a line and column instead of the snippet the parsers would quote.
 */
export * from './schema.js';
export { ConfigError, type ConfigProblem } from './problems.js';
export { ENVIRONMENT_OVERRIDES } from './env.js';
export { isSecretPath, redactConfig } from './redact.js';
export { CONFIG_FILE_NAMES, findConfigFile, loadConfig, parseConfigText, validateConfig } from './load.js';
export { DurationError, parseDurationOrThrow, parseDurationOrUndefined } from '../duration.js';
