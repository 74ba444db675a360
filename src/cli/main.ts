#!/usr/bin/env node
/**
 * The `mlmon` command. Each subcommand lives in its own module, declared with the command layer
 * (`command.ts`), and is loaded only when used, so `mlmon compare` starts without loading the
 * Elasticsearch client and vice versa.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CommandFn, CommandIO } from './io.js';
import { EXIT, exitCodesHelp, oneLine } from './command.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandFn>;
}

const commands: Record<string, CommandEntry> = {
  compare: {
    summary: 'drift between two local files, no Elasticsearch needed',
    load: async () => (await import('./commands/compare.js')).compareCommand,
  },
  setup: {
    summary: 'install or upgrade index templates (idempotent, versioned)',
    load: async () => (await import('./commands/setup.js')).setupCommand,
  },
  baseline: {
    summary: 'store a reference profile (from a CSV/JSONL file or a time window)',
    load: async () => (await import('./commands/baseline.js')).baselineCommand,
  },
  analyze: {
    summary: 'analyze windows now: drift, quality, performance and service health results',
    load: async () => (await import('./commands/analyze.js')).analyzeCommand,
  },
  init: {
    summary: 'write a commented configuration file for one model (from a training CSV or its data stream)',
    load: async () => (await import('./commands/init.js')).initCommand,
  },
  status: {
    summary: 'every model of a namespace at a glance: last window, drift, performance, labels, lag, A/B',
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  demo: {
    summary: 'replay a real data set (ELEC2) as a monitored model, end to end',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  report: {
    summary: 'build the HTML report of models for a period and e-mail it',
    load: async () => (await import('./commands/report.js')).reportCommand,
  },
  schedule: {
    summary: 'run the scheduler (analysis jobs on cron expressions, locks and checkpoints in Elasticsearch)',
    load: async () => (await import('./commands/schedule.js')).scheduleCommand,
  },
  collect: {
    summary: 'HTTP ingest service: predictions and outcomes, KServe and Seldon inference loggers',
    load: async () => (await import('./commands/collect.js')).collectCommand,
  },
  kibana: {
    summary: 'import dashboards, data views, connectors and alert rules into Kibana (install | export)',
    load: async () => (await import('./commands/kibana.js')).kibanaCommand,
  },
  roles: {
    summary: "print the Elasticsearch role descriptors of mlmon's parts (all namespaces, or one)",
    load: async () => (await import('./commands/roles.js')).rolesCommand,
  },
  spool: {
    summary: "inspect or deliver a prediction logger's disk spool (status | flush)",
    load: async () => (await import('./commands/spool.js')).spoolCommand,
  },
};

/** The version in package.json: src/cli/main.ts and dist/cli/main.js are both two levels down. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: mlmon <command> [options]',
    '       mlmon --version',
    '',
    'Commands:',
    ...lines,
    '',
    'mlmon <command> --help (or mlmon help <command>) describes a command and its options.',
    '',
    exitCodesHelp(),
  ].join('\n');
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.stdout.write(usage());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`mlmon ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (name === 'help') return run([...rest, '--help'], io);
  const entry = commands[name];
  if (!entry) {
    const what = name.startsWith('-') ? `unknown option ${name}` : `unknown command "${name}"`;
    io.stderr.write(`mlmon: ${what}; commands: ${Object.keys(commands).join(', ')} (see mlmon --help)\n`);
    return EXIT.usage;
  }
  // Commands report their own errors (command.ts); this catches a failure to load one.
  let command: CommandFn;
  try {
    command = await entry.load();
  } catch (error) {
    io.stderr.write(`mlmon ${name}: ${oneLine(error)}\n`);
    return EXIT.failure;
  }
  if (name !== 'compare') warnAboutCredentials(io);
  return command(rest, io);
}

/** Half of basic auth is a mistake the client would only show as a 401 (or not at all): say so first. */
function warnAboutCredentials(io: CommandIO, env: NodeJS.ProcessEnv = process.env): void {
  if (env.ES_API_KEY) return;
  if (env.ES_USERNAME && !env.ES_PASSWORD)
    io.stderr.write('mlmon: warning: ES_USERNAME is set without ES_PASSWORD: an empty password is sent\n');
  else if (env.ES_PASSWORD && !env.ES_USERNAME)
    io.stderr.write('mlmon: warning: ES_PASSWORD is set without ES_USERNAME: it is not used\n');
}

/**
 * A reader that goes away (`mlmon setup --dry-run | head -2`) is not an error of ours: end quietly
 * instead of dying with an EPIPE stack trace.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    process.stderr.write(`mlmon: ${oneLine(error)}\n`);
    process.exit(EXIT.failure);
  });
}

/** The process entry: real streams, exit code set (not forced: pending output is flushed first). */
export function main(argv: string[] = process.argv.slice(2)): void {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  run(argv, { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`mlmon: ${oneLine(error)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}

/** `node src/cli/main.ts` or `node dist/cli/main.js` (bin/mlmon.js calls `main` itself). */
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) main();
