#!/usr/bin/env node
/**
 * The `mlmon` command. Each subcommand lives in its own module and is loaded only when used, so
 * `mlmon compare` starts without loading the Elasticsearch client and vice versa.
 */
import type { CommandFn, CommandIO } from './io.js';
import { UsageError } from './io.js';

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
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: mlmon <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command has --help.',
    '',
  ].join('\n');
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr.write(`mlmon: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (
      await entry.load()
    )(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`mlmon ${name}: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`mlmon ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly || process.argv[1]?.endsWith('/mlmon')) {
  run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
