/**
 * Structured logs of the scheduler: one JSON object per line, ECS-style field names, so that
 * they can be shipped to Elasticsearch as they are and read back by tests. Nothing here knows the
 * configuration, so a secret cannot reach a log line unless a caller puts it into `fields`.
 */
import type { LogLevel } from '../schema/config.js';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface StructuredLogger {
  debug(action: string, message: string, fields?: LogFields): void;
  info(action: string, message: string, fields?: LogFields): void;
  warn(action: string, message: string, fields?: LogFields): void;
  error(action: string, message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): StructuredLogger;
}

/** One log line as written; `event.action` names what happened (`window.processed`, `lock.takeover`…). */
export interface LogRecord {
  '@timestamp': string;
  'log.level': LogLevel;
  'event.action': string;
  message: string;
  [field: string]: unknown;
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message };
  return value;
}

export function createJsonLogger(
  out: NodeJS.WritableStream = process.stdout,
  options: { level?: LogLevel; fields?: LogFields } = {},
): StructuredLogger {
  const threshold = LEVELS[options.level ?? 'info'];
  const base = options.fields ?? {};
  const write = (level: LogLevel, action: string, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    const record: LogRecord = {
      '@timestamp': new Date().toISOString(),
      'log.level': level,
      'event.action': action,
      message,
      ...base,
    };
    for (const [k, v] of Object.entries(fields ?? {})) record[k] = errorFields(v);
    out.write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (a, m, f) => write('debug', a, m, f),
    info: (a, m, f) => write('info', a, m, f),
    warn: (a, m, f) => write('warn', a, m, f),
    error: (a, m, f) => write('error', a, m, f),
    child: (fields) => createJsonLogger(out, { level: options.level, fields: { ...base, ...fields } }),
  };
}

/** Reads JSON log lines back (tests, tools); lines that are not JSON are skipped. */
export function parseLogLines(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      // a partial last line while the process is still writing
    }
  }
  return out;
}
