/**
 * The command layer: every `mlmon` command is declared here the same way, so every command has the
 * same help layout, the same option grammar, the same validation (all of it before any I/O), the
 * same one-line errors and the same exit codes.
 *
 * Why a helper over node:util `parseArgs` rather than commander: commander (checked on npm on
 * 2026-11-27: 15.1.0) needs Node >= 22.12 and mlmon supports Node 20; and the behaviour we need
 * beyond tokenizing — an option given twice is an error, `--window -1h` is a value (not "argument
 * is ambiguous"), a per-option value parser whose errors are usage errors, commands loaded lazily
 * (`mlmon compare` never loads the Elasticsearch client), output to injected streams for tests —
 * is glue we would write around commander too. `parseArgs` ships with Node; this file is that glue.
 *
 * ## Porting a command (the pattern)
 *
 * ```ts
 * export const fooCommand = defineCommand({
 *   name: 'foo',
 *   summary: 'one line for `mlmon --help`',
 *   usage: ['--model M [--format table|json]'],          // synopsis lines after "mlmon foo "
 *   description: 'What it does, in a paragraph or two.',
 *   options: {
 *     model: { type: 'string', value: 'M', description: 'model name', required: true },
 *     window: { type: 'string', value: 'D', description: 'window size', parse: durationValue },
 *     format: formatOption,
 *   },
 *   notes: 'Optional text after the options (time grammar, environment variables...).',
 *   exitCodes: { 3: 'what 3 means for this command, if it uses it' },
 *   run: async (values, io) => { ...; return EXIT.ok },   // values are typed from `options`
 * });
 * ```
 *
 * - `parse` must be a function value (`timeValue`, or `const taskValue = choice('a', 'b')` above
 *   the spec): a generic call written inline in the spec defeats the inference of `values`' types.
 * - Validate everything in `parse` functions or at the top of `run` before the first request:
 *   throw `UsageError` (exit 2). `parse` receives the text and returns the typed value.
 * - Any other error ends the command with exit 1 and its message on one line (no stack trace;
 *   MLMON_DEBUG=1 prints it). Return `EXIT.nothingToAnalyze` (3) for "ran, but found nothing to do".
 * - Repeatable options: `multiple: true` (value is an array); any other option given twice is a
 *   usage error. `--help`/`-h` is added to every command.
 * - Register the command in `main.ts` (name, summary and a lazy `load`).
 * - Subcommands (`mlmon kibana install`): one `defineCommand` each, named `'kibana install'`, and
 *   `defineCommandGroup({ name: 'kibana', subcommands: { install, export } })` registered in main.ts.
 *
 * Length: Over 450 lines on purpose: one option grammar (declare, parse, validate, help, exit
 * codes) that every command shares.
 */
import { parseArgs } from 'node:util';
import { parseTime } from '../analyzer/windows.js';
import { ElasticsearchSettingsError } from '../elastic/client.js';
import { parseDurationOrThrow } from '../schema/duration.js';
import { namespaceProblem } from '../schema/streams.js';
import { type CommandFn, type CommandIO, UsageError } from './io.js';

export { UsageError };

/** Exit codes of every command, documented once (and printed by every `--help`). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  nothingToAnalyze: 3,
} as const;

const EXIT_MEANINGS: Record<number, string> = {
  [EXIT.ok]: 'success',
  [EXIT.failure]: 'failure: Elasticsearch unreachable or refusing, unreadable input, a failed window',
  [EXIT.usage]: 'usage error: unknown, repeated, missing or invalid option (nothing was contacted)',
  [EXIT.nothingToAnalyze]:
    'nothing to analyze, or refused: no predictions for the request (or --drift-only\n     without a baseline), a newer index template that setup will not downgrade, or a\n     baseline that exists (without --replace)',
};

export interface StringOption<T = unknown> {
  type: 'string';
  /** Placeholder in the help: `--window D`. */
  value: string;
  description: string;
  short?: string;
  /** Repeatable: the value is an array of every occurrence. Otherwise twice is a usage error. */
  multiple?: boolean;
  /** Text used when the option is absent (it goes through `parse` too). */
  default?: string;
  required?: boolean;
  /** Turns the text into the typed value; throws `UsageError` (or any Error: it becomes one). */
  parse?: (text: string) => T;
}

export interface BooleanOption {
  type: 'boolean';
  description: string;
  short?: string;
}

export type OptionSpec = StringOption | BooleanOption;
export type OptionSpecs = Record<string, OptionSpec>;

type Parsed<O> = O extends { parse: (text: string) => infer T } ? T : string;
type OptionValue<O> = O extends BooleanOption
  ? boolean
  : O extends { multiple: true }
    ? Array<Parsed<O>>
    : O extends { default: string } | { required: true }
      ? Parsed<O>
      : Parsed<O> | undefined;
export type OptionValues<S extends OptionSpecs> = { -readonly [K in keyof S]: OptionValue<S[K]> };

export interface CommandSpec<S extends OptionSpecs> {
  name: string;
  summary: string;
  /** Synopsis lines, each printed after `mlmon <name> `. */
  usage: string[];
  description: string;
  options: S;
  notes?: string;
  /** What a code means for this command, when it says more than the shared meaning. */
  exitCodes?: Partial<Record<number, string>>;
  run: (values: OptionValues<S>, io: CommandIO) => Promise<number>;
}

export interface Command extends CommandFn {
  readonly spec: CommandSpec<OptionSpecs>;
  help(): string;
}

// ------------------------------------------------------------------------------------------------
// Value parsers shared by the commands
// ------------------------------------------------------------------------------------------------

/** A value from a fixed list: `choice('table', 'json')`. */
export function choice<const T extends string>(...choices: T[]): (text: string) => T {
  return (text) => {
    if ((choices as string[]).includes(text)) return text as T;
    throw new UsageError(`must be ${orList(choices)}, not "${text}"`);
  };
}

/** `--format table|json`, the same everywhere. */
export const formatOption = {
  type: 'string',
  value: 'table|json',
  description: 'output format (default table); json is machine-readable',
  default: 'table',
  parse: choice('table', 'json'),
} as const satisfies StringOption;

export function positiveInteger(text: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n > 0)) throw new UsageError(`must be a positive integer, not "${text}"`);
  return n;
}

/** 0, 1, 2, ... */
export function nonNegativeInteger(text: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`must be an integer >= 0, not "${text}"`);
  return n;
}

/** A number > 0 (fractions allowed: `--window-minutes 7.5`). */
export function positiveNumber(text: string): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!(Number.isFinite(n) && n > 0)) throw new UsageError(`must be a positive number, not "${text}"`);
  return n;
}

/** `2026-05-01T00:00:00Z`, `2026-05-01`, `now`, `now-1d` (impossible dates are refused). */
export function timeValue(text: string): Date {
  return parseTime(text);
}

/** `15m`, `1h`, `1d`, `1w` → milliseconds. */
export function durationValue(text: string): number {
  return parseDurationOrThrow(text);
}

/** `--namespace N`: a data stream namespace (the rule of src/schema/streams.ts), never a pattern. */
export function namespaceValue(text: string): string {
  const problem = namespaceProblem(text);
  if (problem !== undefined) throw new UsageError(`${problem}, not "${text}"`);
  return text;
}

/** `--namespace N` of a command that reads one namespace's streams, default `default`. */
export const namespaceOption = {
  type: 'string',
  value: 'N',
  description: 'data stream namespace (default: default)',
  default: 'default',
  parse: namespaceValue,
} as const satisfies StringOption;

/** A number in [0, 1]. */
export function probability(text: string): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`must be a number in [0, 1], not "${text}"`);
  return n;
}

/** `a,b, c` → ['a', 'b', 'c']. */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function orList(items: readonly string[]): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

// ------------------------------------------------------------------------------------------------
// Parsing
// ------------------------------------------------------------------------------------------------

const HELP_OPTION: BooleanOption = { type: 'boolean', short: 'h', description: 'this help' };

function flagOf(name: string, spec: OptionSpec): string {
  return spec.short ? `-${spec.short}/--${name}` : `--${name}`;
}

/**
 * A string option takes the next argument as its value even when it starts with a dash
 * (`--window -1h`, `--threshold -0.5`): the value parser then says what is wrong with it.
 * parseArgs would refuse such a value as "ambiguous"; rewriting to `--window=-1h` tells it.
 */
function attachDashValues(argv: readonly string[], specs: OptionSpecs): string[] {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--')
      ? arg.slice(2)
      : /^-[^-]$/.test(arg)
        ? byShort.get(arg[1] as string)
        : undefined;
    const next = argv[i + 1];
    if (
      name !== undefined &&
      !name.includes('=') &&
      specs[name]?.type === 'string' &&
      next !== undefined &&
      next.startsWith('-')
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

interface Tokenized {
  help: boolean;
  raw: Map<string, string[] | true>;
}

function tokenize(argv: readonly string[], specs: OptionSpecs): Tokenized {
  const args = attachDashValues(argv, specs);
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, s]) => [
      name,
      { type: s.type, multiple: true, ...(s.short ? { short: s.short } : {}) },
    ]),
  );
  let tokens;
  try {
    ({ tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] as string);
  }
  const raw = new Map<string, string[] | true>();
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional')
      throw new UsageError(`unexpected argument "${token.value}" (options are --name value)`);
    if (token.name === 'help') {
      help = true;
      continue;
    }
    const spec = specs[token.name];
    if (!spec) throw new UsageError(`unknown option ${token.rawName}`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      if (raw.has(token.name)) throw new UsageError(`${flagOf(token.name, spec)} is given twice`);
      raw.set(token.name, true);
      continue;
    }
    if (token.value === undefined)
      throw new UsageError(`${token.rawName} needs a value (${token.rawName} ${spec.value})`);
    const previous = raw.get(token.name);
    if (Array.isArray(previous)) {
      if (!spec.multiple)
        throw new UsageError(
          `${flagOf(token.name, spec)} is given twice ("${previous[0]}" and "${token.value}"); give it once`,
        );
      previous.push(token.value);
    } else raw.set(token.name, [token.value]);
  }
  return { help, raw };
}

function parseValue(name: string, spec: StringOption, text: string): unknown {
  if (!spec.parse) return text;
  try {
    return spec.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--${name}: ${message}`);
  }
}

/** Parses and validates `argv` against the specs: every value or a `UsageError`. */
export function parseOptions<S extends OptionSpecs>(
  argv: readonly string[],
  specs: S,
): { help: true } | { help: false; values: OptionValues<S> } {
  const { help, raw } = tokenize(argv, { ...specs, help: HELP_OPTION });
  if (help) return { help: true };
  const values: Record<string, unknown> = {};
  const missing: string[] = [];
  // Every given value is checked before a missing one is reported: `--format xml` is the error
  // to fix first, whatever else is absent.
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw.get(name);
    if (spec.type === 'boolean') {
      values[name] = given === true;
      continue;
    }
    const texts = Array.isArray(given) ? given : spec.default !== undefined ? [spec.default] : [];
    if (texts.length === 0 && spec.required) missing.push(`--${name} ${spec.value}`);
    const parsed = texts.map((t) => parseValue(name, spec, t));
    values[name] = spec.multiple ? parsed : parsed[0];
  }
  if (missing.length === 1) throw new UsageError(`${missing[0]} is required`);
  if (missing.length > 1) throw new UsageError(`${missing.join(', ')} are required`);
  return { help: false, values: values as OptionValues<S> };
}

// ------------------------------------------------------------------------------------------------
// Help and errors
// ------------------------------------------------------------------------------------------------

function indentBlock(text: string, indent: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => (l ? `${indent}${l}` : l))
    .join('\n');
}

/** The exit code list every `--help` ends with. */
export function exitCodesHelp(specific: Partial<Record<number, string>> = {}): string {
  const lines = Object.entries(EXIT_MEANINGS).map(([code, meaning]) => {
    const extra = specific[Number(code)];
    return `  ${code}  ${meaning}${extra ? `\n     (here: ${extra})` : ''}`;
  });
  return `Exit codes (every mlmon command):\n${lines.join('\n')}\n`;
}

export function renderHelp(spec: CommandSpec<OptionSpecs>): string {
  const prefix = `mlmon ${spec.name} `;
  const usage = spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${prefix}${u}`);
  const all: OptionSpecs = { ...spec.options, help: HELP_OPTION };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value}` : ''}`;
    const notes = [
      o.type === 'string' && o.required ? '(required)' : '',
      o.type === 'string' && o.multiple ? '(repeatable)' : '',
    ].filter(Boolean);
    return [flag, [o.description, ...notes].join(' ')] as const;
  });
  const width = Math.min(30, Math.max(...rows.map(([f]) => f.length)));
  const options = rows.map(([flag, text]) => {
    const [first, ...rest] = text.split('\n');
    const pad = ' '.repeat(width + 4);
    const head = flag.length > width ? `  ${flag}\n${pad}${first}` : `  ${flag.padEnd(width)}  ${first}`;
    return [head, ...rest.map((l) => `${pad}${l}`)].join('\n');
  });
  return [
    ...usage,
    '',
    spec.description.trim(),
    '',
    'Options:',
    ...options,
    ...(spec.notes ? ['', indentBlock(spec.notes, '')] : []),
    '',
    exitCodesHelp(spec.exitCodes),
  ].join('\n');
}

/** An error's message on one line (Elasticsearch answers can carry newlines or whole pages). */
export function oneLine(error: unknown, max = 400): string {
  const text = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Writes the one-line error for a command and returns its exit code. */
export function reportError(
  command: string,
  error: unknown,
  io: CommandIO,
  options: { helpHint?: boolean } = {},
): number {
  // Unusable connection settings (a CA file not there, a key in the wrong form) are the user's to fix
  // before anything is contacted, like a bad option.
  if (error instanceof UsageError || error instanceof ElasticsearchSettingsError) {
    const hint = options.helpHint ? ` (see mlmon ${command} --help)` : '';
    // A usage error is our own text: one line, except a list of problems (a configuration file's,
    // docs/configuration.md), which is printed one per line, every one of them, uncut.
    const [first, ...rest] = error.message.split('\n').map((l) => l.trimEnd());
    io.stderr.write(`mlmon ${command}: ${first?.trim() ?? ''}${hint}\n`);
    for (const line of rest) if (line.trim() !== '') io.stderr.write(`${line}\n`);
    return EXIT.usage;
  }
  io.stderr.write(`mlmon ${command}: ${oneLine(error)}\n`);
  if (process.env.MLMON_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return EXIT.failure;
}

/** Declares a command: the returned function parses, validates, runs and maps errors to exit codes. */
export function defineCommand<const S extends OptionSpecs>(spec: CommandSpec<S>): Command {
  const help = () => renderHelp(spec as unknown as CommandSpec<OptionSpecs>);
  const fn = async (argv: string[], io: CommandIO): Promise<number> => {
    let parsed;
    try {
      parsed = parseOptions(argv, spec.options);
    } catch (error) {
      // A malformed command line: point at the help.
      return reportError(spec.name, error, io, { helpHint: true });
    }
    if (parsed.help) {
      io.stdout.write(help());
      return EXIT.ok;
    }
    try {
      return await spec.run(parsed.values, io);
    } catch (error) {
      return reportError(spec.name, error, io);
    }
  };
  return Object.assign(fn, { spec: spec as unknown as CommandSpec<OptionSpecs>, help });
}

export interface CommandGroupSpec {
  name: string;
  summary: string;
  description: string;
  /** Each declared with `defineCommand` under the name `<group> <subcommand>`. */
  subcommands: Record<string, Command>;
}

/**
 * A command with subcommands (`mlmon kibana install|export`): the first argument picks the
 * subcommand, which parses the rest itself; `--help` alone lists the subcommands.
 */
export function defineCommandGroup(spec: CommandGroupSpec): CommandFn & { help(): string } {
  const names = Object.keys(spec.subcommands);
  const help = (): string => {
    const usage = Object.entries(spec.subcommands).flatMap(([sub, command]) =>
      command.spec.usage.map((u) => `mlmon ${spec.name} ${sub} ${u}`),
    );
    const width = Math.max(...names.map((n) => n.length));
    return [
      ...usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${u}`),
      '',
      spec.description.trim(),
      '',
      'Subcommands:',
      ...Object.entries(spec.subcommands).map(
        ([sub, command]) => `  ${sub.padEnd(width)}  ${command.spec.summary}`,
      ),
      '',
      `mlmon ${spec.name} <subcommand> --help describes a subcommand and its options.`,
      '',
      exitCodesHelp(),
    ].join('\n');
  };
  const fn = async (argv: string[], io: CommandIO): Promise<number> => {
    const [first, ...rest] = argv;
    if (first === '--help' || first === '-h') {
      io.stdout.write(help());
      return EXIT.ok;
    }
    const command = first === undefined ? undefined : spec.subcommands[first];
    if (command) return command(rest, io);
    const problem =
      first === undefined
        ? `a subcommand is needed: ${orList(names)}`
        : `unknown subcommand "${first}": expected ${orList(names)}`;
    return reportError(spec.name, new UsageError(problem), io, { helpHint: true });
  };
  return Object.assign(fn, { help });
}
