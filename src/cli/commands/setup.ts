import { parseArgs } from 'node:util';
import { checkConnection, createClient } from '../../elastic/client.js';
import { describeSetup, installTemplates, TemplateDowngradeError } from '../../elastic/templates.js';
import { type CommandIO, UsageError, writeJson } from '../io.js';

const HELP = `Usage: mlmon setup [--dry-run] [--format table|json] [--retention-logs 30d] [--retention-metrics 365d]
                   [--shards N] [--replicas N]

Installs or upgrades mlmon's index templates in the cluster at ES_URL (auth: ES_API_KEY, or
ES_USERNAME and ES_PASSWORD; TLS CA: ES_CA_CERT). Unchanged templates are left alone; a template
whose version rose is replaced and the data streams it governs are rolled over. A newer template in
the cluster is never downgraded: the command refuses and changes nothing.

  --dry-run               print the plan, change nothing
  --format json           machine-readable result
  --retention-logs D      data stream retention for logs-mlmon.* (default 30d)
  --retention-metrics D   data stream retention for metrics-mlmon.* (default 365d)
  --shards N              primary shards of every data stream's backing indices (default 1)
  --replicas N            replicas of them (default: 0 on one node, 1 once there are two)
Retention and shards apply to templates being created or upgraded (see docs/scale.md).
`;

export async function setupCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      format: { type: 'string', default: 'table' },
      'retention-logs': { type: 'string' },
      'retention-metrics': { type: 'string' },
      shards: { type: 'string' },
      replicas: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (values.format !== 'table' && values.format !== 'json')
    throw new UsageError('--format must be table or json');
  for (const key of ['retention-logs', 'retention-metrics'] as const) {
    const v = values[key];
    if (v !== undefined && !/^\d+(d|h|m|s)$/.test(v))
      throw new UsageError(`--${key} must look like 30d, 12h`);
  }
  const count = (key: 'shards' | 'replicas', min: number): number | undefined => {
    const v = values[key];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${key} must be an integer >= ${min}`);
    return Number(v);
  };
  const shards = { primaries: count('shards', 1), replicas: count('replicas', 0) };
  const client = createClient();
  try {
    const server = await checkConnection(client);
    let result;
    try {
      result = await installTemplates(client, {
        dryRun: values['dry-run'],
        retention: { logs: values['retention-logs'], metrics: values['retention-metrics'] },
        shards,
      });
    } catch (error) {
      if (error instanceof TemplateDowngradeError) {
        io.stderr.write(`${error.message}\n`);
        return 3;
      }
      throw error;
    }
    if (values.format === 'json') writeJson(io, { elasticsearch: server.version, ...result });
    else {
      io.stdout.write(
        `Elasticsearch ${server.version}${result.dryRun ? ' (dry run: nothing changed)' : ''}\n`,
      );
      for (const line of describeSetup(result)) io.stdout.write(`  ${line}\n`);
    }
    return 0;
  } finally {
    await client.close();
  }
}
