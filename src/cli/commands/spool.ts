/**
 * `mlmon spool status | flush --dir D`: what a logger's disk spool holds, and delivering it from
 * the command line (a batch job whose `close()` timed out leaves its documents there; without this
 * only a later logger with the same `spool.dir` would send them).
 */
import { existsSync, statSync } from 'node:fs';
import { checkConnection, createClient } from '../../elastic/client.js';
import { createPredictionLogger, spoolCensus, type SpoolCensus } from '../../logger/index.js';
import {
  defineCommand,
  defineCommandGroup,
  durationValue,
  EXIT,
  formatOption,
  UsageError,
} from '../command.js';
import { writeJson, type CommandIO } from '../io.js';

const dirOption = {
  type: 'string',
  value: 'D',
  description: "the logger's spool directory (its spool.dir option, default .mlmon-spool)",
  required: true,
} as const;

/** The directory must exist: a mistyped path is not an empty spool. */
function checkedDir(dir: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`--dir ${dir}: no such directory`);
  return dir;
}

function describe(census: SpoolCensus): string {
  if (census.files === 0) return `spool ${census.dir}: empty`;
  const oldest = census.oldest ? `, oldest written ${census.oldest.toISOString()}` : '';
  const live =
    census.liveFiles > 0 ? `; ${census.liveFiles} file(s) belong to a running logger (it delivers them)` : '';
  return (
    `spool ${census.dir}: ${census.events} document(s) in ${census.files} file(s), ${census.bytes} bytes` +
    `${oldest}${live}`
  );
}

function censusJson(census: SpoolCensus) {
  return { ...census, oldest: census.oldest?.toISOString() ?? null };
}

export const spoolStatusCommand = defineCommand({
  name: 'spool status',
  summary: "what a logger's disk spool holds: files, documents, bytes, oldest",
  usage: ['--dir D [--format table|json]'],
  description: `Counts the documents in the spool files of directory D (complete lines of spool-*.ndjson;
a torn last line is not counted) without changing anything. Files whose lock names a live process
belong to a running logger, which delivers them itself.`,
  options: { dir: dirOption, format: formatOption },
  run: (values, io) => {
    const census = spoolCensus(checkedDir(values.dir));
    if (values.format === 'json') writeJson(io, censusJson(census));
    else io.stdout.write(`${describe(census)}\n`);
    return Promise.resolve(EXIT.ok);
  },
});

export const spoolFlushCommand = defineCommand({
  name: 'spool flush',
  summary: 'deliver what a spool holds to the Elasticsearch at ES_URL',
  usage: ['--dir D [--timeout 10m] [--format table|json]'],
  description: `Delivers the spool files in directory D to the cluster at ES_URL (auth: ES_API_KEY, or
ES_USERNAME and ES_PASSWORD) the way the logger replays them: every document with its _id and
op_type create, looked up first in every backing index of its stream, so a document already stored
is not stored twice. A file is deleted once each of its documents is indexed or dead-lettered.
Files of a running logger (its lock names a live process) are left to it.`,
  options: {
    dir: dirOption,
    timeout: {
      type: 'string',
      value: 'D',
      description: 'give up after this long (default 10m); what is left stays in the spool',
      default: '10m',
      parse: durationValue,
    },
    format: formatOption,
  },
  exitCodes: { 1: 'Elasticsearch unreachable, or documents are still in the spool afterwards' },
  run: async (values, io) => {
    const dir = checkedDir(values.dir);
    const before = spoolCensus(dir);
    const client = createClient();
    try {
      await checkConnection(client);
      const warnings: string[] = [];
      const logger = createPredictionLogger({
        node: client,
        spool: { dir },
        // Replayed documents carry their own model; the name only stops the "no model" warning.
        model: { name: 'mlmon-spool-flush' },
        onWarning: (message) => warnings.push(message),
      });
      const delivered = await logger.flush(values.timeout);
      // Nothing new was logged: close only stops the logger (and reports what is left).
      const result = await logger.close({ timeoutMs: delivered ? 1 : 0 });
      const after = spoolCensus(dir);
      for (const warning of warnings) io.stderr.write(`mlmon spool flush: ${oneLineOf(warning)}\n`);
      const summary = {
        dir,
        before: censusJson(before),
        read: result.recovered,
        indexed: result.indexed,
        alreadyThere: result.conflicts,
        deadLettered: result.deadLettered,
        dropped: result.dropped,
        left: censusJson(after),
      };
      if (values.format === 'json') writeJson(io, summary);
      else printFlush(io, summary.read, result, after);
      return after.events > 0 ? EXIT.failure : EXIT.ok;
    } finally {
      await client.close();
    }
  },
});

function printFlush(
  io: CommandIO,
  read: number,
  result: { indexed: number; conflicts: number; deadLettered: number; dropped: number },
  after: SpoolCensus,
): void {
  io.stdout.write(
    `read ${read} document(s) from the spool: ${result.indexed} indexed (${result.conflicts} of them ` +
      `already there), ${result.deadLettered} dead-lettered, ${result.dropped} dropped\n`,
  );
  io.stdout.write(`${after.files === 0 ? 'left: nothing' : `left: ${describe(after)}`}\n`);
}

function oneLineOf(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

export const spoolCommand = defineCommandGroup({
  name: 'spool',
  summary: "inspect or deliver a prediction logger's disk spool (status | flush)",
  description: `The logger's disk spool (docs/logger.md, "The spool"): where documents wait while
Elasticsearch is unreachable, and what close() leaves when it times out.`,
  subcommands: { status: spoolStatusCommand, flush: spoolFlushCommand },
});
