/**
 * Configuration problems: what `validateConfig` throws, and the translation of zod's issues into
 * problems a person can act on — one per bad key, named by its path (`models[0].window`), saying
 * what was expected and, unless the key holds a secret, what was given.
 */
import type { z } from 'zod';
import { showValue, isSecretPath } from './redact.js';

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

type Issue = z.core.$ZodIssue;
type Path = ReadonlyArray<PropertyKey>;
type Schema = z.core.$ZodType;

/** `['models', 0, 'window']` → `models[0].window`; the empty path is `(root)`. */
export function pathText(path: Path): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || '(root)';
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

// ---------------------------------------------------------------------------------------------
// Walking the schema along a path: which keys an object allows, and in which order.
// ---------------------------------------------------------------------------------------------

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  options?: Schema[];
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
}

/** The objects, lists and records a schema is made of, seen through defaults, pipes and unions. */
function structures(schema: Schema | undefined): Schema[] {
  if (!schema) return [];
  const def = schema._zod.def as unknown as Def;
  if (def.innerType) return structures(def.innerType);
  if (def.type === 'pipe') return [...structures(def.in), ...structures(def.out)];
  if (def.type === 'union') return (def.options ?? []).flatMap(structures);
  return ['object', 'array', 'record'].includes(def.type) ? [schema] : [];
}

interface Step {
  /** Position of the key in its object's schema; -1 for an unknown key, 0 for free keys. */
  rank: number;
  next?: Schema;
  /** The keys the object allows, when this step is an object key. */
  allowed?: string[];
}

function step(schema: Schema | undefined, key: PropertyKey): Step {
  for (const candidate of structures(schema)) {
    const def = candidate._zod.def as unknown as Def;
    if (typeof key === 'number' && def.type === 'array') return { rank: key, next: def.element };
    if (typeof key === 'string' && def.type === 'object' && def.shape) {
      const allowed = Object.keys(def.shape);
      const rank = allowed.indexOf(key);
      return { rank, next: rank >= 0 ? def.shape[key] : undefined, allowed };
    }
    if (typeof key === 'string' && def.type === 'record') return { rank: 0, next: def.valueType };
  }
  return { rank: 0 };
}

function ranks(root: Schema, path: Path): number[] {
  const out: number[] = [];
  let schema: Schema | undefined = root;
  for (const key of path) {
    const s = step(schema, key);
    out.push(s.rank);
    schema = s.next;
  }
  return out;
}

function allowedKeys(root: Schema, path: Path): string[] {
  let schema: Schema | undefined = root;
  for (const key of path) schema = step(schema, key).next;
  return step(schema, '\u0000').allowed ?? [];
}

// ---------------------------------------------------------------------------------------------
// Issues → problems
// ---------------------------------------------------------------------------------------------

interface Located {
  path: Path;
  message: string;
}

function locate(issue: Issue, prefix: Path, root: Schema, out: Located[]): void {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(root, path);
    for (const key of issue.keys) {
      const near = allowed.find((k) => closeTo(k, key));
      out.push({
        path: [...path, key],
        message: `unknown key${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`,
      });
    }
    return;
  }
  if (issue.code === 'invalid_union') {
    // The union's options are forms of one key (`jobs: [name]` or `[{ name, options }]`): report the
    // problems of the form the value has, or the union's own message when it has none of them.
    const typeMismatch = (branch: Issue[]) =>
      branch.length === 1 &&
      (branch[0]?.code === 'invalid_type' || branch[0]?.code === 'invalid_value') &&
      branch[0].path.length === 0;
    const branch = issue.errors.find((b) => !typeMismatch(b));
    if (branch) for (const inner of branch) locate(inner, path, root, out);
    else out.push({ path, message: issue.message });
    return;
  }
  let message = issue.message;
  const params = issue.code === 'custom' ? (issue.params as { value?: unknown } | undefined) : undefined;
  if (params && 'value' in params) {
    const where = pathText(path);
    message = isSecretPath(where)
      ? message.replace(/:? ?\{value\}/, '') || message
      : message.replace('{value}', showValue(where, params.value));
  }
  out.push({ path, message });
}

/**
 * Problems in the order a reader goes through the file: by the order of keys in the schema (array
 * items by index, free keys as given), an unknown key before the known ones, and a problem with a
 * whole object after the problems of its keys.
 */
export function problemsFromIssues(issues: readonly Issue[], root: Schema): ConfigProblem[] {
  const located: Located[] = [];
  for (const issue of issues) locate(issue, [], root, located);
  const keyed = located.map((p) => ({ ...p, ranks: ranks(root, p.path) }));
  keyed.sort((a, b) => {
    const n = Math.min(a.path.length, b.path.length);
    for (let i = 0; i < n; i++) {
      if (a.path[i] === b.path[i]) continue;
      return (a.ranks[i] as number) - (b.ranks[i] as number);
    }
    return b.path.length - a.path.length;
  });
  return keyed.map(({ path, message }) => ({ path: pathText(path), message }));
}
