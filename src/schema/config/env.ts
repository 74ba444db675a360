/**
 * The environment's part in the configuration: `${NAME}` references in the file, and the
 * variables that override keys of the file (ES_URL, ES_API_KEY…). Both apply to the file's raw
 * content, before validation, so an overridden value is checked like any other.
 */
import type { ConfigProblem } from './problems.js';

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
  { variable: 'MLMON_COLLECT_TOKEN', path: 'collector.tokens' },
];

type Raw = Record<string, unknown>;

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function setPath(target: Raw, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isObject(next)) node[key] = {};
    node = node[key] as Raw;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * `${NAME}` in any string of the file is replaced by that environment variable, so that secrets
 * (a webhook's bearer token) can stay out of the file. `$${` escapes a literal `${`. A key set to
 * null counts as not set (YAML's `key:` with nothing after it). Returns a new value; the input is
 * not changed.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  path = '',
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      if (whole.startsWith('$$')) return whole.slice(1);
      const v = env[name];
      if (v === undefined) {
        problems.push({ path, message: `environment variable ${name} is not set` });
        return whole; // left as is, so that the key is not also reported as empty
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${path}[${i}]`));
  if (isObject(value)) {
    const out: Raw = {};
    for (const [k, v] of Object.entries(value))
      if (v !== null) out[k] = interpolate(v, env, problems, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

/** Sets the keys named by {@link ENVIRONMENT_OVERRIDES} in `root` (changed in place). */
export function applyEnvironmentOverrides(root: unknown, env: NodeJS.ProcessEnv): void {
  if (!isObject(root)) return;
  for (const { variable, path } of ENVIRONMENT_OVERRIDES) {
    const v = env[variable];
    if (v === undefined || v === '') continue;
    setPath(root, path, path === 'scheduler.metrics.port' && Number.isFinite(Number(v)) ? Number(v) : v);
  }
}
