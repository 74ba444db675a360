/**
 * The mlmon configuration file (`mlmon.config.json` or `mlmon.config.yaml`): types, loading,
 * validation with errors that name the path of the bad key, and environment overrides.
 *
 * Secrets (API keys, passwords, SMTP URLs, webhook URLs and headers) are never echoed: validation
 * messages say what is wrong with a key, not what its value was, and parse errors report a line
 * and column instead of the snippet the JSON and YAML parsers would quote.
 *
 * The validator is hand-written on purpose: the schema is small, and the only schema libraries in
 * node_modules are transitive dependencies of the linter, which we must not rely on at run time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { validate as validateCron } from 'node-cron';

// ---------------------------------------------------------------------------------------------
// Types: the validated configuration, with defaults applied and durations in milliseconds.
// ---------------------------------------------------------------------------------------------

export interface ElasticsearchConfig {
  url?: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** Path to a PEM CA certificate. */
  caCert?: string;
  requestTimeoutMs: number;
}

export interface KibanaConfig {
  url?: string;
  apiKey?: string;
}

export interface SmtpConfig {
  /** `smtp://user:pass@host:587`; a secret as a whole because it may carry credentials. */
  url?: string;
  from?: string;
  to: string[];
}

export interface MetricsServerConfig {
  port: number;
  host: string;
}

export interface SchedulerConfig {
  /** Identity written into lock documents; default `hostname:pid`. */
  owner: string;
  /** A lock not renewed for this long is considered abandoned and may be taken over. */
  lockTtlMs: number;
  /** How often a held lock is renewed while its window is being processed. */
  heartbeatMs: number;
  /** At most this many windows per job and model are caught up after downtime; older ones are skipped. */
  maxCatchUp: number;
  /** Attempts per window before it is marked failed and the checkpoint moves past it. */
  maxAttempts: number;
  /** On SIGTERM, how long the window in progress may run on before it is aborted and released. */
  shutdownGraceMs: number;
  /** Time zone of cron expressions. */
  timezone: string;
  /** Serve Prometheus `/metrics` when set. */
  metrics?: MetricsServerConfig;
  logLevel: LogLevel;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type HookEvent = 'drift.detected' | 'performance.degraded';
export const HOOK_EVENTS: readonly HookEvent[] = ['drift.detected', 'performance.degraded'];

export interface WebhookConfig {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface CommandHookConfig {
  /** Program and arguments, run without a shell; the payload is written to its stdin. */
  argv: string[];
  timeoutMs: number;
}

export interface HookConfig {
  name: string;
  on: HookEvent[];
  webhook?: WebhookConfig;
  command?: CommandHookConfig;
}

export interface JobEntry {
  /** Name in the job registry. */
  name: string;
  /** Passed to the job as is. */
  options: Record<string, unknown>;
}

export interface PerformanceBound {
  min?: number;
  max?: number;
}

export interface PerformanceConfig {
  positiveClass?: string;
  threshold?: number;
  /** Expected range per metric (`accuracy: { min: 0.8 }`, `rmse: { max: 3 }`). */
  bounds: Record<string, PerformanceBound>;
  /**
   * `labelHorizon`: how long after a prediction its label may still arrive and change the stored
   * performance of its window (the scheduler re-computes such windows); default 30 days.
   */
  labelHorizonMs: number;
}

/** Default `performance.labelHorizon`: labels up to 30 days after the prediction re-compute its window. */
export const DEFAULT_LABEL_HORIZON_MS = 30 * 86_400_000;

export interface ModelConfig {
  name: string;
  /** Explicit versions, or `all`: then each job sees `version: undefined` and covers every version. */
  versions: string[] | 'all';
  namespace: string;
  /** `mlmon-baselines` id of the reference profile. */
  baseline?: string;
  windowMs: number;
  /** node-cron expression that triggers a pass (from `cron`, or derived from `every`). */
  cron: string;
  /** A window is analyzed only once this long has passed after its end (late data). */
  delayMs: number;
  /** Earliest window start to analyze when no checkpoint exists yet. */
  start?: Date;
  jobs: JobEntry[];
  performance: PerformanceConfig;
  hooks: HookConfig[];
}

export interface MlmonConfig {
  /** Absolute path of the file read, when there was one. */
  source?: string;
  namespace: string;
  elasticsearch: ElasticsearchConfig;
  kibana: KibanaConfig;
  smtp: SmtpConfig;
  scheduler: SchedulerConfig;
  models: ModelConfig[];
}

export const DEFAULT_JOBS = ['drift', 'quality', 'performance', 'service'] as const;

export const CONFIG_FILE_NAMES = ['mlmon.config.json', 'mlmon.config.yaml', 'mlmon.config.yml'] as const;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export interface ConfigProblem {
  /** `models[0].window`, `scheduler.lockTtl`, or `(file)` for problems with the file itself. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    readonly source?: string,
  ) {
    const where = source ? `${source}: ` : '';
    super(
      problems.length === 1
        ? `${where}invalid configuration: ${problems[0]?.path}: ${problems[0]?.message}`
        : `${where}invalid configuration (${problems.length} problems):\n` +
            problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

import { parseDuration } from './duration.js';

export { parseDuration };

/**
 * A cron expression (with seconds) that fires every `ms`, when the interval divides a minute, an
 * hour or a day evenly, so that the ticks of every replica line up with the window boundaries.
 */
export function intervalToCron(ms: number): string | undefined {
  if (ms % 1000 !== 0) return undefined;
  const seconds = ms / 1000;
  if (seconds < 60) return 60 % seconds === 0 ? `*/${seconds} * * * * *` : undefined;
  if (seconds % 60 !== 0) return undefined;
  const minutes = seconds / 60;
  if (minutes < 60) return 60 % minutes === 0 ? `0 */${minutes} * * * *` : undefined;
  if (minutes % 60 !== 0) return undefined;
  const hours = minutes / 60;
  if (hours < 24) return 24 % hours === 0 ? `0 0 */${hours} * * *` : undefined;
  return hours === 24 ? '0 0 0 * * *' : undefined;
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/** Paths whose values are secrets (headers by prefix: `Authorization`, tokens…). */
export function isSecretPath(path: string): boolean {
  return (
    /^elasticsearch\.(apiKey|password)$/.test(path) ||
    /^kibana\.apiKey$/.test(path) ||
    /^smtp\.(url|password)$/.test(path) ||
    /\.webhook\.(url|headers(\..*)?)$/.test(path)
  );
}

const REDACTED = '(redacted)';

/** A copy fit for logs: every secret replaced. */
export function redactConfig(config: MlmonConfig): Record<string, unknown> {
  const walk = (value: unknown, path: string): unknown => {
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const child = path ? `${path}.${k}` : k;
        out[k] = v !== undefined && isSecretPath(child) ? REDACTED : walk(v, child);
      }
      return out;
    }
    return value;
  };
  return walk(config, '') as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

type Raw = Record<string, unknown>;

/** Collects problems instead of stopping at the first, so one run shows everything to fix. */
class Checker {
  readonly problems: ConfigProblem[] = [];

  fail(path: string, message: string): undefined {
    this.problems.push({ path, message });
    return undefined;
  }

  /** `what` describes a value without showing it when the path is secret. */
  show(path: string, value: unknown): string {
    if (isSecretPath(path)) return 'the value given';
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }

  object(value: unknown, path: string, keys: readonly string[]): Raw | undefined {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value))
      return this.fail(path || '(root)', `expected an object, got ${kindOf(value)}`);
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) {
        const near = keys.find((k) => closeTo(k, key));
        this.fail(
          path ? `${path}.${key}` : key,
          `unknown key${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${keys.join(', ')}`,
        );
      }
    }
    return value as Raw;
  }

  string(value: unknown, path: string, required = false): string | undefined {
    if (value === undefined || value === null) return required ? this.fail(path, 'required') : undefined;
    if (typeof value !== 'string') return this.fail(path, `expected a string, got ${kindOf(value)}`);
    if (value.trim() === '') return this.fail(path, 'must not be empty');
    return value;
  }

  url(value: unknown, path: string, required = false, protocols = ['http:', 'https:']): string | undefined {
    const text = this.string(value, path, required);
    if (text === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return this.fail(path, `not a valid URL${isSecretPath(path) ? '' : `: ${this.show(path, text)}`}`);
    }
    if (!protocols.includes(parsed.protocol))
      return this.fail(path, `URL scheme must be ${protocols.map((p) => p.replace(':', '')).join(' or ')}`);
    return text;
  }

  number(
    value: unknown,
    path: string,
    { min, max, integer }: { min?: number; max?: number; integer?: boolean },
  ): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value))
      return this.fail(path, `expected a number, got ${kindOf(value)}`);
    if (integer && !Number.isInteger(value)) return this.fail(path, `expected an integer, got ${value}`);
    if (min !== undefined && value < min) return this.fail(path, `must be at least ${min}, got ${value}`);
    if (max !== undefined && value > max) return this.fail(path, `must be at most ${max}, got ${value}`);
    return value;
  }

  duration(value: unknown, path: string, options: { allowZero?: boolean } = {}): number | undefined {
    if (value === undefined || value === null) return undefined;
    // A zero delay ("0s") is a real setting: analyze a window as soon as it ends.
    if (
      options.allowZero &&
      (value === 0 || (typeof value === 'string' && /^\s*0+\s*(ms|s|m|h|d|w)?\s*$/.test(value)))
    )
      return 0;
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined)
      return this.fail(
        path,
        `expected a duration such as "500ms", "30s", "5m", "1h", "1d", got ${this.show(path, value)}`,
      );
    return ms;
  }

  stringList(value: unknown, path: string): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value)) return this.fail(path, `expected a list of strings, got ${kindOf(value)}`);
    const out: string[] = [];
    value.forEach((v, i) => {
      const s = this.string(v, `${path}[${i}]`, true);
      if (s !== undefined) out.push(s);
    });
    return out;
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** One edit apart (typo) or differing only by case: worth a "did you mean". */
function closeTo(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_]*$/;

function checkNamespace(c: Checker, value: unknown, path: string): string | undefined {
  const ns = c.string(value, path);
  if (ns === undefined) return undefined;
  // Data stream naming: lowercase, no '-' (it separates type, dataset and namespace), at most 100 bytes.
  if (!NAMESPACE_PATTERN.test(ns) || ns.length > 100)
    return c.fail(
      path,
      `a namespace is lowercase letters, digits and "_" (no "-"), at most 100 characters; got ${c.show(path, ns)}`,
    );
  return ns;
}

function checkHooks(c: Checker, value: unknown, path: string): HookConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    c.fail(path, `expected a list of hooks, got ${kindOf(value)}`);
    return [];
  }
  const hooks: HookConfig[] = [];
  value.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    const raw = c.object(entry, at, ['name', 'on', 'webhook', 'command']);
    if (!raw) return;
    const name = c.string(raw.name, `${at}.name`) ?? `hook-${i + 1}`;
    const on = c.stringList(raw.on, `${at}.on`) ?? [...HOOK_EVENTS];
    on.forEach((event, k) => {
      if (!HOOK_EVENTS.includes(event as HookEvent))
        c.fail(`${at}.on[${k}]`, `unknown event ${c.show('', event)}; expected ${HOOK_EVENTS.join(' or ')}`);
    });
    const hook: HookConfig = { name, on: on as HookEvent[] };
    if (raw.webhook !== undefined) {
      const w = c.object(raw.webhook, `${at}.webhook`, ['url', 'headers', 'timeout']);
      if (w) {
        const url = c.url(w.url, `${at}.webhook.url`, true);
        const headers: Record<string, string> = {};
        const h = c.object(w.headers, `${at}.webhook.headers`, Object.keys((w.headers as Raw) ?? {}));
        for (const [k, v] of Object.entries(h ?? {})) {
          const s = c.string(v, `${at}.webhook.headers.${k}`, true);
          if (s !== undefined) headers[k] = s;
        }
        const timeoutMs = c.duration(w.timeout, `${at}.webhook.timeout`) ?? 10_000;
        if (url) hook.webhook = { url, headers, timeoutMs };
      }
    }
    if (raw.command !== undefined) {
      // `command: [argv...]` or `command: { run: [argv...], timeout: 1m }`.
      const isShort = Array.isArray(raw.command) || typeof raw.command === 'string';
      const cmd = isShort ? { run: raw.command } : c.object(raw.command, `${at}.command`, ['run', 'timeout']);
      if (cmd) {
        const runPath = isShort ? `${at}.command` : `${at}.command.run`;
        const argv = c.stringList(cmd.run, runPath);
        if (!argv || argv.length === 0) c.fail(runPath, 'required: the program and its arguments');
        const timeoutMs = c.duration(cmd.timeout, `${at}.command.timeout`) ?? 60_000;
        if (argv && argv.length > 0) hook.command = { argv, timeoutMs };
      }
    }
    if (raw.webhook === undefined && raw.command === undefined)
      c.fail(at, 'a hook needs a "webhook" or a "command"');
    hooks.push(hook);
  });
  return hooks;
}

function checkJobs(c: Checker, value: unknown, path: string): JobEntry[] {
  if (value === undefined || value === null) return DEFAULT_JOBS.map((name) => ({ name, options: {} }));
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, 'expected a non-empty list of job names or { name, options }');
    return [];
  }
  const jobs: JobEntry[] = [];
  value.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    if (typeof entry === 'string') {
      const name = c.string(entry, at, true);
      if (name) jobs.push({ name, options: {} });
      return;
    }
    const raw = c.object(entry, at, ['name', 'options']);
    if (!raw) return;
    const name = c.string(raw.name, `${at}.name`, true);
    const options = c.object(raw.options, `${at}.options`, Object.keys((raw.options as Raw) ?? {}));
    if (name) jobs.push({ name, options: options ?? {} });
  });
  const seen = new Set<string>();
  jobs.forEach((j, i) => {
    if (seen.has(j.name)) c.fail(`${path}[${i}]`, `job "${j.name}" is listed twice`);
    seen.add(j.name);
  });
  return jobs;
}

function checkPerformance(c: Checker, value: unknown, path: string): PerformanceConfig {
  const raw = c.object(value, path, ['positiveClass', 'threshold', 'bounds', 'labelHorizon']);
  const out: PerformanceConfig = { bounds: {}, labelHorizonMs: DEFAULT_LABEL_HORIZON_MS };
  if (!raw) return out;
  out.labelHorizonMs =
    c.duration(raw.labelHorizon, `${path}.labelHorizon`, { allowZero: true }) ?? DEFAULT_LABEL_HORIZON_MS;
  if (raw.positiveClass !== undefined)
    out.positiveClass =
      typeof raw.positiveClass === 'number'
        ? String(raw.positiveClass)
        : c.string(raw.positiveClass, `${path}.positiveClass`);
  out.threshold = c.number(raw.threshold, `${path}.threshold`, { min: 0, max: 1 });
  const bounds = c.object(raw.bounds, `${path}.bounds`, Object.keys((raw.bounds as Raw) ?? {}));
  for (const [metric, b] of Object.entries(bounds ?? {})) {
    const at = `${path}.bounds.${metric}`;
    const rb = c.object(b, at, ['min', 'max']);
    if (!rb) continue;
    const min = c.number(rb.min, `${at}.min`, {});
    const max = c.number(rb.max, `${at}.max`, {});
    if (min === undefined && max === undefined) c.fail(at, 'give "min", "max" or both');
    else if (min !== undefined && max !== undefined && min > max)
      c.fail(at, `min ${min} is above max ${max}`);
    out.bounds[metric] = { min, max };
  }
  return out;
}

function checkModel(
  c: Checker,
  value: unknown,
  path: string,
  defaultNamespace: string,
): ModelConfig | undefined {
  const raw = c.object(value, path, [
    'name',
    'versions',
    'namespace',
    'baseline',
    'window',
    'cron',
    'every',
    'delay',
    'start',
    'jobs',
    'performance',
    'hooks',
  ]);
  if (!raw) return undefined;
  const name = c.string(raw.name, `${path}.name`, true);
  let versions: string[] | 'all' = 'all';
  if (raw.versions !== undefined && raw.versions !== 'all') {
    const list = Array.isArray(raw.versions)
      ? raw.versions.map((v) => (typeof v === 'number' ? String(v) : v))
      : raw.versions;
    const checked = Array.isArray(list) ? c.stringList(list, `${path}.versions`) : undefined;
    if (!Array.isArray(list)) c.fail(`${path}.versions`, 'expected "all" or a list of versions');
    else if (checked && checked.length === 0) c.fail(`${path}.versions`, 'an empty list analyzes nothing');
    else if (checked) versions = checked;
  }
  const namespace = checkNamespace(c, raw.namespace, `${path}.namespace`) ?? defaultNamespace;
  const windowMs = c.duration(raw.window, `${path}.window`);
  if (raw.window === undefined) c.fail(`${path}.window`, 'required: the window size, e.g. "1h"');
  const delayMs = c.duration(raw.delay, `${path}.delay`, { allowZero: true }) ?? 0;

  let cron: string | undefined;
  if (raw.cron !== undefined && raw.every !== undefined)
    c.fail(`${path}.every`, 'give either "cron" or "every", not both');
  else if (raw.cron !== undefined) {
    const expr = c.string(raw.cron, `${path}.cron`);
    if (expr !== undefined && !validateCron(expr))
      c.fail(`${path}.cron`, `not a valid cron expression: ${c.show('', expr)}`);
    else cron = expr;
  } else if (raw.every !== undefined) {
    const every = c.duration(raw.every, `${path}.every`);
    if (every !== undefined) {
      cron = intervalToCron(every);
      if (!cron)
        c.fail(
          `${path}.every`,
          'must divide a minute, an hour or a day evenly (e.g. 10s, 5m, 2h); use "cron" for anything else',
        );
    }
  } else if (windowMs !== undefined) {
    // Default: one pass per window, when the interval lines up; else every minute.
    cron = intervalToCron(windowMs) ?? '0 * * * * *';
  }

  let start: Date | undefined;
  if (raw.start !== undefined) {
    const text = raw.start instanceof Date ? raw.start.toISOString() : c.string(raw.start, `${path}.start`);
    if (text !== undefined) {
      const parsed = new Date(text);
      if (Number.isNaN(parsed.getTime()))
        c.fail(
          `${path}.start`,
          `expected an ISO 8601 date such as 2026-01-01T00:00:00Z, got ${c.show('', text)}`,
        );
      else start = parsed;
    }
  }
  const jobs = checkJobs(c, raw.jobs, `${path}.jobs`);
  const performance = checkPerformance(c, raw.performance, `${path}.performance`);
  const hooks = checkHooks(c, raw.hooks, `${path}.hooks`);
  if (!name || windowMs === undefined || !cron) return undefined;
  return {
    name,
    versions,
    namespace,
    baseline: c.string(raw.baseline, `${path}.baseline`),
    windowMs,
    cron,
    delayMs,
    start,
    jobs,
    performance,
    hooks,
  };
}

/** Environment variables that override the file. */
export const ENVIRONMENT_OVERRIDES: ReadonlyArray<{ variable: string; path: string }> = [
  { variable: 'ES_URL', path: 'elasticsearch.url' },
  { variable: 'ES_API_KEY', path: 'elasticsearch.apiKey' },
  { variable: 'ES_USERNAME', path: 'elasticsearch.username' },
  { variable: 'ES_PASSWORD', path: 'elasticsearch.password' },
  { variable: 'ES_CA_CERT', path: 'elasticsearch.caCert' },
  { variable: 'KIBANA_URL', path: 'kibana.url' },
  { variable: 'KIBANA_API_KEY', path: 'kibana.apiKey' },
  { variable: 'SMTP_URL', path: 'smtp.url' },
  { variable: 'MLMON_NAMESPACE', path: 'namespace' },
  { variable: 'MLMON_OWNER', path: 'scheduler.owner' },
  { variable: 'MLMON_METRICS_PORT', path: 'scheduler.metrics.port' },
  { variable: 'MLMON_LOG_LEVEL', path: 'scheduler.logLevel' },
];

function setPath(target: Raw, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Raw;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * `${NAME}` in any string of the file is replaced by that environment variable, so that secrets
 * (a webhook's bearer token) can stay out of the file. `$${` escapes a literal `${`.
 */
function interpolate(value: unknown, path: string, env: NodeJS.ProcessEnv, c: Checker): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      if (whole.startsWith('$$')) return whole.slice(1);
      const v = env[name];
      if (v === undefined) {
        c.fail(path, `environment variable ${name} is not set`);
        return whole; // left as is, so that the key is not also reported as empty
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, `${path}[${i}]`, env, c));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Raw = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, path ? `${path}.${k}` : k, env, c);
    return out;
  }
  return value;
}

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
  const c = new Checker();
  const interpolated = interpolate(input ?? {}, '', env, c);
  const root =
    interpolated && typeof interpolated === 'object' && !Array.isArray(interpolated)
      ? structuredClone(interpolated as Raw)
      : interpolated;
  if (root && typeof root === 'object' && !Array.isArray(root)) {
    for (const { variable, path } of ENVIRONMENT_OVERRIDES) {
      const v = env[variable];
      if (v === undefined || v === '') continue;
      setPath(
        root as Raw,
        path,
        path === 'scheduler.metrics.port' && Number.isFinite(Number(v)) ? Number(v) : v,
      );
    }
  }
  const top = c.object(root, '', ['namespace', 'elasticsearch', 'kibana', 'smtp', 'scheduler', 'models']);
  if (!top) throw new ConfigError(c.problems, options.source);

  const namespace = checkNamespace(c, top.namespace, 'namespace') ?? 'default';

  const es = c.object(top.elasticsearch, 'elasticsearch', [
    'url',
    'apiKey',
    'username',
    'password',
    'caCert',
    'requestTimeout',
  ]);
  const elasticsearch: ElasticsearchConfig = {
    url: c.url(es?.url, 'elasticsearch.url'),
    apiKey: c.string(es?.apiKey, 'elasticsearch.apiKey'),
    username: c.string(es?.username, 'elasticsearch.username'),
    password: c.string(es?.password, 'elasticsearch.password'),
    caCert: c.string(es?.caCert, 'elasticsearch.caCert'),
    requestTimeoutMs: c.duration(es?.requestTimeout, 'elasticsearch.requestTimeout') ?? 30_000,
  };
  if (elasticsearch.caCert && !existsSync(elasticsearch.caCert))
    c.fail('elasticsearch.caCert', `file not found: ${elasticsearch.caCert}`);

  const kb = c.object(top.kibana, 'kibana', ['url', 'apiKey']);
  const kibana: KibanaConfig = {
    url: c.url(kb?.url, 'kibana.url'),
    apiKey: c.string(kb?.apiKey, 'kibana.apiKey'),
  };

  const sm = c.object(top.smtp, 'smtp', ['url', 'from', 'to']);
  const smtp: SmtpConfig = {
    url: c.url(sm?.url, 'smtp.url', false, ['smtp:', 'smtps:']),
    from: c.string(sm?.from, 'smtp.from'),
    to: c.stringList(sm?.to, 'smtp.to') ?? [],
  };

  const sc = c.object(top.scheduler, 'scheduler', [
    'owner',
    'lockTtl',
    'heartbeat',
    'maxCatchUp',
    'maxAttempts',
    'shutdownGrace',
    'timezone',
    'metrics',
    'logLevel',
  ]);
  const lockTtlMs = c.duration(sc?.lockTtl, 'scheduler.lockTtl') ?? 60_000;
  const heartbeatMs =
    c.duration(sc?.heartbeat, 'scheduler.heartbeat') ?? Math.max(1, Math.floor(lockTtlMs / 3));
  if (heartbeatMs >= lockTtlMs)
    c.fail(
      'scheduler.heartbeat',
      `must be shorter than scheduler.lockTtl (${lockTtlMs} ms), or a lock expires while held`,
    );
  let metrics: MetricsServerConfig | undefined;
  if (sc?.metrics !== undefined && sc.metrics !== false) {
    const m = c.object(sc.metrics, 'scheduler.metrics', ['port', 'host']);
    const port = c.number(m?.port, 'scheduler.metrics.port', { min: 0, max: 65535, integer: true });
    if (m && m.port === undefined) c.fail('scheduler.metrics.port', 'required when scheduler.metrics is set');
    if (port !== undefined)
      metrics = { port, host: c.string(m?.host, 'scheduler.metrics.host') ?? '0.0.0.0' };
  }
  const logLevel = (c.string(sc?.logLevel, 'scheduler.logLevel') ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    c.fail('scheduler.logLevel', `expected debug, info, warn or error, got ${c.show('', logLevel)}`);
  const timezone = c.string(sc?.timezone, 'scheduler.timezone') ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    c.fail('scheduler.timezone', `unknown time zone ${c.show('', timezone)}`);
  }
  const scheduler: SchedulerConfig = {
    owner: c.string(sc?.owner, 'scheduler.owner') ?? `${hostname()}:${process.pid}`,
    lockTtlMs,
    heartbeatMs,
    maxCatchUp: c.number(sc?.maxCatchUp, 'scheduler.maxCatchUp', { min: 1, integer: true }) ?? 48,
    maxAttempts: c.number(sc?.maxAttempts, 'scheduler.maxAttempts', { min: 1, integer: true }) ?? 3,
    shutdownGraceMs: c.duration(sc?.shutdownGrace, 'scheduler.shutdownGrace') ?? 30_000,
    timezone,
    metrics,
    logLevel,
  };

  const models: ModelConfig[] = [];
  if (top.models !== undefined && !Array.isArray(top.models))
    c.fail('models', `expected a list of models, got ${kindOf(top.models)}`);
  else {
    const list = (top.models as unknown[] | undefined) ?? [];
    const seen = new Set<string>();
    list.forEach((m, i) => {
      const model = checkModel(c, m, `models[${i}]`, namespace);
      if (!model) return;
      const key = `${model.namespace}/${model.name}`;
      if (seen.has(key))
        c.fail(`models[${i}]`, `model "${model.name}" in namespace "${model.namespace}" is configured twice`);
      seen.add(key);
      models.push(model);
    });
  }

  if (c.problems.length > 0) throw new ConfigError(c.problems, options.source);
  return { source: options.source, namespace, elasticsearch, kibana, smtp, scheduler, models };
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
