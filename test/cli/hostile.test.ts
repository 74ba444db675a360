/**
 * Issue 21, item 5: every command run as a new user would, with wrong, missing, repeated and
 * impossible options, empty/ragged/BOM/quoted files, an unreachable or wrong-scheme ES_URL, and
 * output piped into `head -1`. One table: what was typed, the exit code the help documents
 * (0 ok, 1 failure, 2 usage error, 3 nothing to analyze / refused) and the first line of stderr
 * (and of stdout where it says something). Every row also holds: no stack trace, and an error is
 * one line (or the number of lines the row states: a configuration's problems, one per line).
 *
 * Each row runs `node --import tsx src/cli/main.ts …` as a child process (as test/cli/commands.test.ts
 * does). Unless a row says `es`, ES_URL is a closed port: a usage error (2) must come before any
 * request, and a row that contacted Elasticsearch would end 1 ("Cannot reach") instead. Rows are
 * independent (a row's `before` makes what it needs) and run a few at a time.
 *
 * The rows marked "issue 21" are the findings of the issue: each failed before this change.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** Nothing listens on port 1 of the loopback interface: connecting is refused at once. */
const CLOSED = 'http://127.0.0.1:1';
/** One model name per run: the baseline rows write to the shared test cluster. */
const MODEL = `hostile-${process.pid}-${Date.now()}`;

interface Row {
  /** What a new user tried. */
  name: string;
  /** After `mlmon`; `{dir}` is the fixtures' directory, `{model}` this run's model name. */
  args: string[];
  /** Over the default environment (ES_URL at a closed port, no credentials, no SMTP). */
  env?: Record<string, string>;
  /** ES_URL is the test cluster. */
  es?: true;
  /** stdout is read as by `| head -1`: closed after its first line. */
  head?: true;
  code: number;
  /** First line of stderr ('' for none): exact text, or a pattern. */
  stderr: string | RegExp;
  /** First line of stdout, when the row says. */
  stdout?: string | RegExp;
  /** Lines on stderr; default 1 when `stderr` is not '' (the one-line rule), else 0; 'many': more than 1. */
  stderrLines?: number | 'many';
  /** Run first, expecting exit 0 (what the row's input needs to exist). */
  before?: string[];
}

const usage = (command: string, text: string) => `mlmon ${command}: ${text} (see mlmon ${command} --help)`;
const NS_RULE =
  'a namespace is lowercase letters, digits and "_" (no "-", "*" or ","), at most 100 characters';
const A_DAY = ['--from', '2026-01-01', '--to', '2026-01-02'];

const ROWS: Row[] = [
  // ---- mlmon itself -------------------------------------------------------------------------
  // The usage text: as many lines as there are commands, so not counted here.
  { name: 'no command', args: [], code: 2, stderr: 'Usage: mlmon <command> [options]', stderrLines: 'many' },
  {
    name: 'unknown command',
    args: ['analyse'],
    code: 2,
    stderr:
      'mlmon: unknown command "analyse"; commands: compare, setup, baseline, analyze, init, status, demo, report, schedule, collect, kibana, roles, spool (see mlmon --help)',
  },
  {
    name: '--help | head -1',
    args: ['--help'],
    head: true,
    code: 0,
    stderr: '',
    stdout: 'Usage: mlmon <command> [options]',
  },
  // ---- compare ------------------------------------------------------------------------------
  {
    name: 'compare without --current',
    args: ['compare', '--reference', '{dir}/ref.csv'],
    code: 2,
    stderr: usage('compare', '--current <file> is required'),
  },
  {
    name: 'compare --reference twice',
    args: [
      'compare',
      '--reference',
      '{dir}/ref.csv',
      '--reference',
      '{dir}/cur.csv',
      '--current',
      '{dir}/cur.csv',
    ],
    code: 2,
    stderr: usage(
      'compare',
      '--reference is given twice ("{dir}/ref.csv" and "{dir}/cur.csv"); give it once',
    ),
  },
  {
    name: 'compare --format xml',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/cur.csv', '--format', 'xml'],
    code: 2,
    stderr: usage('compare', '--format: must be table or json, not "xml"'),
  },
  {
    name: 'compare a file that does not exist',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/nope.csv'],
    code: 1,
    stderr: 'mlmon compare: current: file not found: {dir}/nope.csv',
  },
  {
    name: 'compare a directory',
    args: ['compare', '--reference', '{dir}', '--current', '{dir}/cur.csv'],
    code: 1,
    stderr: 'mlmon compare: reference: not a file: {dir}',
  },
  {
    name: 'compare an empty file',
    args: ['compare', '--reference', '{dir}/empty.csv', '--current', '{dir}/cur.csv'],
    code: 1,
    stderr: 'mlmon compare: reference: file is empty: {dir}/empty.csv',
  },
  {
    name: 'compare a file of blank lines',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/blank.csv'],
    code: 1,
    stderr: 'mlmon compare: current: file is empty: {dir}/blank.csv',
  },
  {
    name: 'compare a header-only file',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/header.csv'],
    code: 1,
    stderr: 'mlmon compare: current: file has a header but no data rows: {dir}/header.csv',
  },
  {
    name: 'compare a ragged CSV (a row with a field missing)',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/ragged.csv'],
    code: 1,
    // csv-parse's message; the third line of ragged.csv has 2 fields where the header has 3.
    stderr: /^mlmon compare: current: cannot parse CSV .*ragged\.csv: Invalid Record Length: .*line 3/,
  },
  {
    name: 'compare a CSV with the same column twice',
    args: ['compare', '--reference', '{dir}/dup.csv', '--current', '{dir}/cur.csv'],
    code: 1,
    stderr: "mlmon compare: reference: CSV {dir}/dup.csv has the column 'x' twice",
  },
  {
    name: 'compare files with different columns',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/other.csv'],
    code: 1,
    stderr:
      'mlmon compare: the files have different columns (only in reference: c; only in current: z); use --exclude to skip some',
  },
  {
    name: 'compare a BOM file against one without: same columns',
    args: ['compare', '--reference', '{dir}/bom.csv', '--current', '{dir}/ref.csv'],
    code: 0,
    stderr: '',
    stdout: 'reference: {dir}/bom.csv (40 rows)',
  },
  {
    name: 'compare quoted fields holding commas and newlines',
    args: ['compare', '--reference', '{dir}/quoted.csv', '--current', '{dir}/quoted.csv', '--format', 'json'],
    code: 0,
    // quoted.csv has 2 data rows (one of them spans two lines): the small-sample notes follow.
    stderr:
      'note: the reference has 2 rows: below 30 values the tests see only large changes, so "no drift" says little',
    stderrLines: 2,
    stdout: '{',
  },
  {
    name: 'compare --exclude of every column (issue 21)',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/cur.csv', '--exclude', 'x,y,c'],
    code: 2,
    stderr: 'mlmon compare: --exclude leaves no column to compare (the files have x, y, c)',
  },
  {
    name: 'compare --exclude of an unknown column (issue 21)',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/cur.csv', '--exclude', 'colour'],
    code: 2,
    stderr: 'mlmon compare: --exclude names no column of the files: colour',
  },
  {
    name: 'compare --categorical of an unknown column (issue 21)',
    args: [
      'compare',
      '--reference',
      '{dir}/ref.csv',
      '--current',
      '{dir}/cur.csv',
      '--categorical',
      'colour',
    ],
    code: 2,
    stderr: 'mlmon compare: --categorical names no compared column: colour',
  },
  {
    name: 'compare a one-row current file: a small-sample note (issue 21)',
    args: ['compare', '--reference', '{dir}/ref.csv', '--current', '{dir}/one-row.csv'],
    code: 0,
    stderr:
      'note: the current file has 1 row: below 30 values the tests see only large changes, so "no drift" says little',
    stdout: 'reference: {dir}/ref.csv (40 rows)',
  },
  {
    name: 'compare a JSONL file with a broken line',
    args: ['compare', '--reference', '{dir}/bad.jsonl', '--current', '{dir}/bad.jsonl'],
    code: 1,
    stderr: /^mlmon compare: reference: cannot parse JSONL .*bad\.jsonl line 2: /,
  },
  {
    name: 'compare --format json | head -1 (EPIPE: 300 columns of output)',
    args: ['compare', '--reference', '{dir}/wide.csv', '--current', '{dir}/wide.csv', '--format', 'json'],
    head: true,
    code: 0,
    stderr: '',
    stdout: '{',
  },
  // ---- analyze ------------------------------------------------------------------------------
  {
    name: 'analyze --namespace "*" (issue 21)',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h', '--namespace', '*'],
    code: 2,
    stderr: usage('analyze', `--namespace: ${NS_RULE}, not "*"`),
  },
  {
    name: 'analyze --namespace "a*,-x" (issue 21)',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h', '--namespace', 'a*,-x'],
    code: 2,
    stderr: usage('analyze', `--namespace: ${NS_RULE}, not "a*,-x"`),
  },
  {
    name: 'analyze --from 1970-01-01 --window 1m: too many windows, before any request (issue 21)',
    args: ['analyze', '--model', 'm', '--from', '1970-01-01', '--to', '2026-01-02', '--window', '1m'],
    code: 2,
    // (2026-01-02 - 1970-01-01) = 20,455 days = 29,455,200 minutes.
    stderr:
      'mlmon analyze: 29455200 windows of 60000 ms between --from and --to; the limit is 10000: give a larger --window or a shorter --from/--to range',
  },
  {
    name: 'analyze --window 0',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '0'],
    code: 2,
    stderr: usage(
      'analyze',
      '--window: "0" is not a positive duration: use a number and a unit, e.g. 15m, 1h, 1d, 1w',
    ),
  },
  {
    name: 'analyze --window -1h',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '-1h'],
    code: 2,
    stderr: usage(
      'analyze',
      '--window: "-1h" is not a positive duration: use a number and a unit, e.g. 15m, 1h, 1d, 1w',
    ),
  },
  {
    name: 'analyze --window twice',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h', '--window', '1d'],
    code: 2,
    stderr: usage('analyze', '--window is given twice ("1h" and "1d"); give it once'),
  },
  {
    name: 'analyze --from after --to',
    args: ['analyze', '--model', 'm', '--from', '2026-01-02', '--to', '2026-01-01', '--window', '1h'],
    code: 2,
    stderr: 'mlmon analyze: --to must be after --from',
  },
  {
    name: 'analyze --from 2026-02-30',
    args: ['analyze', '--model', 'm', '--from', '2026-02-30', '--to', '2026-03-02', '--window', '1h'],
    code: 2,
    // 2026 is not a leap year.
    stderr: usage('analyze', '--from: "2026-02-30" is not a real date: February 2026 has 28 days'),
  },
  {
    name: 'analyze without --model',
    args: ['analyze', ...A_DAY, '--window', '1h'],
    code: 2,
    stderr: usage('analyze', '--model M is required'),
  },
  {
    name: 'analyze --baseline and --reference-from',
    args: [
      'analyze',
      '--model',
      'm',
      ...A_DAY,
      '--window',
      '1h',
      '--baseline',
      'b',
      '--reference-from',
      '2025-12-01',
    ],
    code: 2,
    stderr: 'mlmon analyze: give --baseline or --reference-from/--reference-to, not both',
  },
  {
    name: 'analyze --reference-from without --reference-to',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h', '--reference-from', '2025-12-01'],
    code: 2,
    stderr: 'mlmon analyze: --reference-from and --reference-to go together',
  },
  {
    name: 'analyze --threshold 2',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h', '--threshold', '2'],
    code: 2,
    stderr: usage('analyze', '--threshold: must be a number in [0, 1], not "2"'),
  },
  {
    name: 'analyze, Elasticsearch unreachable',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h'],
    code: 1,
    stderr: `mlmon analyze: Cannot reach Elasticsearch at ${CLOSED}: connect ECONNREFUSED 127.0.0.1:1`,
  },
  {
    name: 'analyze, ES_URL=ftp://… (issue 21)',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h'],
    env: { ES_URL: 'ftp://127.0.0.1:2121' },
    code: 1,
    stderr: 'mlmon analyze: ES_URL must start with http:// or https://, not ftp:// (ftp://127.0.0.1:2121)',
  },
  {
    name: 'analyze, ES_URL not a URL',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h'],
    env: { ES_URL: 'localhost 9200' },
    code: 1,
    stderr: 'mlmon analyze: ES_URL is not a valid URL: (invalid URL)',
  },
  {
    name: 'analyze, ES_URL unset',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h'],
    env: { ES_URL: '' },
    code: 1,
    stderr:
      'mlmon analyze: No Elasticsearch URL: set ES_URL (for example http://localhost:9200) or pass { node }.',
  },
  {
    name: 'analyze, ES_USERNAME without ES_PASSWORD: a warning first (issue 21)',
    args: ['analyze', '--model', 'm', ...A_DAY, '--window', '1h'],
    env: { ES_USERNAME: 'elastic' },
    code: 1,
    stderr: 'mlmon: warning: ES_USERNAME is set without ES_PASSWORD: an empty password is sent',
    stderrLines: 2,
  },
  {
    name: 'analyze a model without predictions',
    args: ['analyze', '--model', '{model}', ...A_DAY, '--window', '1h', '--dry-run'],
    es: true,
    code: 3,
    stderr:
      'mlmon analyze: No predictions of model {model} in logs-mlmon.prediction-default between 2026-01-01T00:00:00.000Z and 2026-01-02T00:00:00.000Z',
  },
  // ---- baseline -----------------------------------------------------------------------------
  {
    name: 'baseline without --version',
    args: ['baseline', '--model', 'm', '--file', '{dir}/ref.csv'],
    code: 2,
    stderr: 'mlmon baseline: --version is required: a baseline belongs to one model version',
  },
  {
    name: 'baseline --file and --from',
    args: ['baseline', '--model', 'm', '--version', '1', '--file', '{dir}/ref.csv', '--from', '2026-01-01'],
    code: 2,
    stderr: 'mlmon baseline: give either --file F or --from T --to T',
  },
  {
    name: 'baseline --from after --to',
    args: ['baseline', '--model', 'm', '--version', '1', '--from', '2026-01-02', '--to', '2026-01-01'],
    code: 2,
    stderr: 'mlmon baseline: --to must be after --from',
  },
  {
    name: 'baseline --namespace "a*" (issue 21)',
    args: [
      'baseline',
      '--model',
      'm',
      '--version',
      '1',
      '--from',
      '2026-01-01',
      '--to',
      'now',
      '--namespace',
      'a*',
    ],
    code: 2,
    stderr: usage('baseline', `--namespace: ${NS_RULE}, not "a*"`),
  },
  {
    name: 'baseline --file of an empty file',
    args: ['baseline', '--model', 'm', '--version', '1', '--file', '{dir}/empty.csv'],
    code: 1,
    stderr: 'mlmon baseline: file is empty: {dir}/empty.csv',
  },
  {
    name: 'baseline --categorical of an unknown column (issue 21)',
    args: [
      'baseline',
      '--model',
      'm',
      '--version',
      '1',
      '--file',
      '{dir}/ref.csv',
      '--categorical',
      'colour',
    ],
    code: 2,
    stderr: 'mlmon baseline: --categorical names no column of {dir}/ref.csv: colour',
  },
  {
    name: 'baseline --id t1 when it exists: a refusal, exit 3 (issue 21)',
    before: ['baseline', '--model', '{model}', '--version', '1', '--file', '{dir}/ref.csv', '--id', 't1'],
    args: ['baseline', '--model', '{model}', '--version', '1', '--file', '{dir}/ref.csv', '--id', 't1'],
    es: true,
    code: 3,
    stderr:
      'mlmon baseline: Baseline "t1" of model {model} version 1 exists; pass --replace to overwrite it.',
  },
  {
    name: 'baseline --file: an all-NaN column and one of Infinity and numbers are numeric, as compare says (issue 21)',
    args: [
      'baseline',
      '--model',
      '{model}',
      '--version',
      '1',
      '--file',
      '{dir}/nan.csv',
      '--id',
      'nan',
      '--format',
      'json',
    ],
    es: true,
    code: 0,
    // nan.csv: 40 rows; x is NaN in every row; y is Infinity in rows 1-4, numbers elsewhere.
    stderr:
      'note: x: 40 non-finite values (Infinity, NaN) stored as missing, as logged predictions arrive in Elasticsearch (JSON has no such numbers)',
    stderrLines: 2,
    stdout: '{',
  },
  {
    name: 'baseline --file of one row: a small-sample note (issue 21)',
    args: ['baseline', '--model', '{model}', '--version', '1', '--file', '{dir}/one-row.csv', '--id', 'one'],
    es: true,
    code: 0,
    stderr:
      'note: the file has 1 row: below 30 values the drift tests against this baseline see only large changes',
    stdout: 'Stored baseline "one" for model {model} version 1: 1 rows, 3 fields',
  },
  // ---- setup --------------------------------------------------------------------------------
  {
    name: 'setup --shards 0',
    args: ['setup', '--shards', '0'],
    code: 2,
    stderr: usage('setup', '--shards: must be a positive integer, not "0"'),
  },
  {
    name: 'setup --retention-logs 30 (no unit)',
    args: ['setup', '--retention-logs', '30'],
    code: 2,
    stderr: usage('setup', '--retention-logs: must look like 30d or 12h, not "30"'),
  },
  {
    name: 'setup --dry-run --dry-run',
    args: ['setup', '--dry-run', '--dry-run'],
    code: 2,
    stderr: usage('setup', '--dry-run is given twice'),
  },
  {
    name: 'setup, ES_URL=https:// to a closed port',
    args: ['setup', '--dry-run'],
    env: { ES_URL: 'https://127.0.0.1:1' },
    code: 1,
    stderr:
      'mlmon setup: Cannot reach Elasticsearch at https://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1',
  },
  {
    name: 'setup --dry-run | head -1',
    args: ['setup', '--dry-run'],
    es: true,
    head: true,
    code: 0,
    stderr: '',
    stdout: /^Elasticsearch \d+\.\d+\.\d+ \(dry run: nothing changed\)$/,
  },
  // ---- report -------------------------------------------------------------------------------
  {
    name: 'report --to notanaddress (issue 21)',
    args: ['report', '--model', 'm', '--last', '1d', '--to', 'notanaddress'],
    code: 2,
    stderr:
      'mlmon report: --to: "notanaddress" is neither a time (ISO 8601 such as 2026-05-01, now, now-1d) nor an e-mail address (name@host)',
  },
  {
    name: 'report --to ops@ (half an address)',
    args: ['report', '--model', 'm', '--last', '1d', '--to', 'ops@'],
    code: 2,
    stderr: 'mlmon report: --to: "ops@" is not an e-mail address (name@host)',
  },
  {
    name: 'report --from 2026-03-01 --to 2026-02-30',
    args: ['report', '--model', 'm', '--from', '2026-03-01', '--to', '2026-02-30', '--format', 'json'],
    code: 2,
    stderr: 'mlmon report: --to: "2026-02-30" is not a real date: February 2026 has 28 days',
  },
  {
    name: 'report --from after --to',
    args: ['report', '--model', 'm', '--from', '2026-03-01', '--to', '2026-02-01', '--format', 'json'],
    code: 2,
    stderr: 'mlmon report: the period must end after it starts',
  },
  {
    name: 'report --last and --from',
    args: ['report', '--model', 'm', '--last', '1d', '--from', '2026-01-01', '--format', 'json'],
    code: 2,
    stderr: 'mlmon report: give --last, or --from and --to, not both',
  },
  {
    name: 'report --out into a directory that does not exist (issue 21)',
    args: ['report', '--model', 'm', '--last', '1d', '--out', '{dir}/nonexistent/r.html'],
    code: 2,
    stderr: 'mlmon report: --out: the directory {dir}/nonexistent does not exist',
  },
  {
    name: 'report --out of a directory',
    args: ['report', '--model', 'm', '--last', '1d', '--out', '{dir}'],
    code: 2,
    stderr: 'mlmon report: --out: {dir} is a directory; give a file name such as report.html',
  },
  {
    name: 'report --namespace "*" (issue 21)',
    args: ['report', '--model', 'm', '--last', '1d', '--namespace', '*', '--format', 'json'],
    code: 2,
    stderr: usage('report', `--namespace: ${NS_RULE}, not "*"`),
  },
  // ---- schedule -----------------------------------------------------------------------------
  {
    name: 'schedule --once --backfill (issue 21)',
    args: ['schedule', '--config', '{dir}/six.yaml', '--once', '--backfill'],
    code: 2,
    stderr: 'mlmon schedule: give --once or --backfill, not both (--backfill already exits when done)',
  },
  {
    name: 'schedule --once --once',
    args: ['schedule', '--once', '--once'],
    code: 2,
    stderr: usage('schedule', '--once is given twice'),
  },
  {
    name: 'schedule --config of a file that does not exist',
    args: ['schedule', '--config', '{dir}/nope.yaml', '--once'],
    code: 2,
    stderr: 'mlmon schedule: {dir}/nope.yaml: invalid configuration: (file): file not found',
  },
  {
    name: 'schedule, a configuration with 6 problems: one per line, all of them (issue 21)',
    args: ['schedule', '--config', '{dir}/six.yaml', '--once'],
    code: 2,
    stderr: 'mlmon schedule: {dir}/six.yaml: invalid configuration (6 problems):',
    stderrLines: 7,
  },
  // ---- kibana and demo ----------------------------------------------------------------------
  {
    name: 'kibana without a subcommand',
    args: ['kibana'],
    code: 2,
    stderr: usage('kibana', 'a subcommand is needed: install or export'),
  },
  {
    name: 'kibana install without KIBANA_URL',
    args: ['kibana', 'install'],
    code: 2,
    stderr: 'mlmon kibana install: KIBANA_URL is not set',
  },
  {
    name: 'demo --namespace a-b',
    args: ['demo', '--namespace', 'a-b'],
    code: 2,
    stderr: usage('demo', `--namespace: ${NS_RULE}, not "a-b"`),
  },
  {
    name: 'demo --rows 0',
    args: ['demo', '--rows', '0'],
    code: 2,
    stderr: usage('demo', '--rows: must be a positive integer, not "0"'),
  },
];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function mlmon(args: string[], env: Record<string, string>, head: boolean): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      // `| head -1`: the reader goes away after the first line; later writes of the child fail (EPIPE).
      if (head && stdout.includes('\n')) child.stdout.destroy();
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

let dir: string;
const fill = (text: string) => text.replaceAll('{dir}', dir).replaceAll('{model}', MODEL);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlmon-hostile-'));
  // 40 rows (above the small-sample note's 30): x = 0..39, y = x / 4, c cycles a, b, c.
  const rows = Array.from({ length: 40 }, (_, i) => `${i},${i / 4},${'abc'[i % 3]}`);
  const files: Record<string, string> = {
    'ref.csv': `x,y,c\n${rows.join('\n')}\n`,
    'cur.csv': `x,y,c\n${rows.map((r) => r.replace(/^(\d+)/, (n) => String(Number(n) + 1))).join('\n')}\n`,
    'bom.csv': `\uFEFFx,y,c\n${rows.join('\n')}\n`,
    'one-row.csv': 'x,y,c\n1,2,a\n',
    'empty.csv': '',
    'blank.csv': '\n   \n\n',
    'header.csv': 'x,y,c\n',
    'ragged.csv': 'x,y,c\n1,2,a\n3,4\n',
    'dup.csv': 'x,y,x\n1,2,3\n',
    'other.csv': 'x,y,z\n1,2,3\n',
    'quoted.csv': 'id,note\n1,"a, b and c"\n2,"two\nlines"\n',
    'bad.jsonl': '{"x": 1}\n{"x": 2,\n',
    // 40 rows: x NaN in every row; y Infinity in rows 1-4, then 5..40.
    'nan.csv': `x,y\n${Array.from({ length: 40 }, (_, i) => `NaN,${i < 4 ? 'Infinity' : i + 1}`).join('\n')}\n`,
    // 300 columns: the JSON output is about 7,000 lines, far beyond a pipe's 64 KiB buffer.
    'wide.csv': `${Array.from({ length: 300 }, (_, i) => `f${i}`).join(',')}\n${Array.from(
      { length: 40 },
      (_, r) => Array.from({ length: 300 }, (_, i) => r * i).join(','),
    ).join('\n')}\n`,
    // Six problems: an invalid namespace, three bad durations, an unknown key and a zero window.
    'six.yaml': [
      'namespace: Prod-1',
      'elasticsearch:',
      `  url: ${CLOSED}`,
      '  requestTimeout: soon',
      'scheduler:',
      '  lockTtl: forever',
      '  heartbeat: 5x',
      'models:',
      '  - name: m',
      '    windw: 1h',
      '    window: 0h',
      '',
    ].join('\n'),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hostile input, every command (issue 21, item 5)', () => {
  // A few at a time (vitest's maxConcurrency, 5): each row is a Node process starting tsx.
  it.concurrent.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const env: Record<string, string> = {
      ES_URL: row.es ? inject('esUrl') : CLOSED,
      ES_API_KEY: '',
      ES_USERNAME: '',
      ES_PASSWORD: '',
      ES_CA_CERT: '',
      KIBANA_URL: '',
      SMTP_URL: '',
      MLMON_DEBUG: '',
      ...row.env,
    };
    if (row.before) {
      const setup = await mlmon(row.before.map(fill), env, false);
      expect(setup.code, setup.stderr).toBe(0);
    }
    const r = await mlmon(row.args.map(fill), env, row.head === true);
    const report = `exit ${r.code}\nstderr:\n${r.stderr}\nstdout (start):\n${r.stdout.slice(0, 300)}`;
    expect(r.stderr, report).not.toMatch(/^\s+at /m);
    expect(r.stderr, report).not.toMatch(/Error: |node:internal/);
    expect(r.code, report).toBe(row.code);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const expected = typeof row.stderr === 'string' ? fill(row.stderr) : row.stderr;
    if (expected === '') expect(lines, report).toEqual([]);
    else {
      if (row.stderrLines === 'many') expect(lines.length, report).toBeGreaterThan(1);
      else expect(lines, report).toHaveLength(row.stderrLines ?? 1);
      if (typeof expected === 'string') expect(lines[0]).toBe(expected);
      else expect(lines[0]).toMatch(expected);
    }
    if (row.stdout !== undefined) {
      const first = r.stdout.split('\n')[0];
      if (typeof row.stdout === 'string') expect(first).toBe(fill(row.stdout));
      else expect(first).toMatch(row.stdout);
    }
  });
});
