/**
 * Reading the configuration: find the file, parse JSON or YAML without ever quoting its text, apply
 * the environment, validate against the schema.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { applyEnvironmentOverrides, interpolate } from './env.js';
import { ConfigError, problemsFromIssues, type ConfigProblem } from './problems.js';
import { configSchema, type MlmonConfig } from './schema.js';

export const CONFIG_FILE_NAMES = ['mlmon.config.json', 'mlmon.config.yaml', 'mlmon.config.yml'] as const;

/**
 * Validates a parsed configuration object (from a file, or built in code), applies the
 * environment overrides, and returns the typed configuration. Throws {@link ConfigError} listing
 * every problem with the path of its key.
 */
export function validateConfig(
  input: unknown,
  options: { env?: NodeJS.ProcessEnv; source?: string } = {},
): MlmonConfig {
  const env = options.env ?? process.env;
  const envProblems: ConfigProblem[] = [];
  // interpolate copies, so the caller's object is never changed by the overrides.
  const root = interpolate(input ?? {}, env, envProblems);
  applyEnvironmentOverrides(root, env);
  const result = configSchema.safeParse(root);
  const problems = [
    ...envProblems,
    ...(result.success ? [] : problemsFromIssues(result.error.issues, configSchema)),
  ];
  if (problems.length > 0 || !result.success) throw new ConfigError(problems, options.source);
  return { source: options.source, ...result.data };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Parses the text of a configuration file. Errors give a line and column but never quote the
 * text: the parsers' own messages include a snippet, which may be a secret.
 */
export function parseConfigText(text: string, format: 'json' | 'yaml', source = '(config)'): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Locate the error with the YAML parser in JSON mode; JSON.parse's message quotes the text.
      const doc = parseDocument(text, { schema: 'json', prettyErrors: false });
      const first = doc.errors[0];
      const at = first ? lineAndColumn(text, first.pos[0]) : undefined;
      throw new ConfigError(
        [
          {
            path: '(file)',
            message: `not valid JSON${at ? ` at line ${at.line}, column ${at.column}` : ''}`,
          },
        ],
        source,
      );
    }
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const at = lineAndColumn(text, first.pos[0]);
    throw new ConfigError(
      [{ path: '(file)', message: `not valid YAML at line ${at.line}, column ${at.column} (${first.code})` }],
      source,
    );
  }
  return doc.toJS() as unknown;
}

/** The configuration file to use: the path given, else the first of {@link CONFIG_FILE_NAMES} in `cwd`. */
export function findConfigFile(path?: string, cwd = process.cwd()): string {
  if (path) {
    const full = resolve(cwd, path);
    if (!existsSync(full)) throw new ConfigError([{ path: '(file)', message: 'file not found' }], full);
    return full;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const full = resolve(cwd, name);
    if (existsSync(full)) return full;
  }
  throw new ConfigError([
    {
      path: '(file)',
      message: `no configuration file: give --config, or create ${CONFIG_FILE_NAMES.join(' or ')} in ${cwd}`,
    },
  ]);
}

/** Finds, reads, parses and validates the configuration file. */
export function loadConfig(
  path?: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): MlmonConfig {
  const file = findConfigFile(path, options.cwd);
  const extension = extname(file).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(extension))
    throw new ConfigError(
      [{ path: '(file)', message: 'the file name must end in .json, .yaml or .yml' }],
      file,
    );
  const text = readFileSync(file, 'utf8');
  const parsed = parseConfigText(text, extension === '.json' ? 'json' : 'yaml', file);
  return validateConfig(parsed, { env: options.env, source: file });
}
