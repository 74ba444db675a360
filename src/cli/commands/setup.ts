import { checkConnection, createClient } from '../../elastic/client.js';
import { describeSetup, installTemplates, TemplateDowngradeError } from '../../elastic/templates.js';
import {
  defineCommand,
  EXIT,
  formatOption,
  nonNegativeInteger,
  positiveInteger,
  UsageError,
} from '../command.js';
import { writeJson } from '../io.js';
import type { Client } from '@elastic/elasticsearch';

/**
 * Plain indices named like an mlmon data stream (made by a writer before the templates existed):
 * they shadow the stream — Elasticsearch writes to the index, with guessed mappings, and the logger
 * (`require_data_stream`) refuses to. Never throws: a cluster that will not say is reported as none.
 */
async function plainIndicesInTheWay(client: Client): Promise<string[]> {
  try {
    const resolved = await client.indices.resolveIndex({
      name: 'logs-mlmon.*,metrics-mlmon.*',
      expand_wildcards: 'all',
    });
    return resolved.indices
      .filter((index) => !index.data_stream)
      .map((index) => index.name)
      .sort();
  } catch {
    return [];
  }
}

function retention(text: string): string {
  if (!/^\d+(d|h|m|s)$/.test(text)) throw new UsageError(`must look like 30d or 12h, not "${text}"`);
  return text;
}

export const setupCommand = defineCommand({
  name: 'setup',
  summary: 'install or upgrade index templates (idempotent, versioned)',
  usage: [
    '[--dry-run] [--format table|json] [--retention-logs 30d] [--retention-metrics 365d]',
    '[--shards N] [--replicas N]',
  ],
  description: `Installs or upgrades mlmon's index templates in the cluster at ES_URL (auth: ES_API_KEY, or
ES_USERNAME and ES_PASSWORD; TLS CA: ES_CA_CERT). Unchanged templates are left alone; a template
whose version rose is replaced and the data streams it governs are rolled over. A newer template in
the cluster is never downgraded: the command refuses and changes nothing.`,
  options: {
    'dry-run': { type: 'boolean', description: 'print the plan, change nothing' },
    format: formatOption,
    'retention-logs': {
      type: 'string',
      value: 'D',
      description: 'data stream retention for logs-mlmon.* (default 30d)',
      parse: retention,
    },
    'retention-metrics': {
      type: 'string',
      value: 'D',
      description: 'data stream retention for metrics-mlmon.* (default 365d)',
      parse: retention,
    },
    shards: {
      type: 'string',
      value: 'N',
      description: "primary shards of every data stream's backing indices (default 1)",
      parse: positiveInteger,
    },
    replicas: {
      type: 'string',
      value: 'N',
      description: 'replicas of them (default: 0 on one node, 1 once there are two)',
      parse: nonNegativeInteger,
    },
  },
  notes: 'Retention and shards apply to templates being created or upgraded (see docs/scale.md).',
  exitCodes: { 3: 'a newer template is installed; nothing was changed' },
  run: async (values, io) => {
    const client = createClient();
    try {
      const server = await checkConnection(client);
      let result;
      try {
        result = await installTemplates(client, {
          dryRun: values['dry-run'],
          retention: { logs: values['retention-logs'], metrics: values['retention-metrics'] },
          shards: { primaries: values.shards, replicas: values.replicas },
        });
      } catch (error) {
        if (error instanceof TemplateDowngradeError) {
          io.stderr.write(`mlmon setup: ${error.message}\n`);
          return EXIT.nothingToAnalyze;
        }
        throw error;
      }
      const plain = await plainIndicesInTheWay(client);
      if (values.format === 'json')
        writeJson(io, { elasticsearch: server.version, ...result, plainIndices: plain });
      else {
        io.stdout.write(
          `Elasticsearch ${server.version}${result.dryRun ? ' (dry run: nothing changed)' : ''}\n`,
        );
        for (const line of describeSetup(result)) io.stdout.write(`  ${line}\n`);
      }
      for (const name of plain)
        io.stderr.write(
          `mlmon setup: ${name} is a plain index, not a data stream (written before the templates ` +
            `existed, with guessed mappings): the logger will not write to it and the analyzer misreads ` +
            `it; move its documents into the stream (docs/logger.md, "A plain index in the way")\n`,
        );
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
});
