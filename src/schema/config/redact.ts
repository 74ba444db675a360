/**
 * Secrets in the configuration (API keys, passwords, SMTP URLs, webhook URLs and headers): which
 * paths hold them, how a value is shown in a message without leaking one, and a copy of the
 * configuration fit for logs.
 */
import type { MlmonConfig } from './schema.js';

/** Paths whose values are secrets (headers by prefix: `Authorization`, tokens…). */
export function isSecretPath(path: string): boolean {
  return (
    /^elasticsearch\.(apiKey|password)$/.test(path) ||
    /^kibana\.apiKey$/.test(path) ||
    /^smtp\.(url|password)$/.test(path) ||
    /^collector\.tokens(\[\d+\])?$/.test(path) ||
    /\.webhook\.(url|headers(\..*)?)$/.test(path)
  );
}

const REDACTED = '(redacted)';

/** A value as a message may show it: short JSON, or nothing at all on a secret path. */
export function showValue(path: string, value: unknown): string {
  if (isSecretPath(path)) return 'the value given';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

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
