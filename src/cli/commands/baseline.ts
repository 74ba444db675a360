import { parseArgs } from 'node:util';
import { checkConnection, createClient } from '../../elastic/client.js';
import { installTemplates } from '../../elastic/templates.js';
import { parseTime, WindowError } from '../../analyzer/windows.js';
import { numericValues, profileTable, readTable } from '../../profiles/from-file.js';
import { profileFromElasticsearch } from '../../profiles/from-elasticsearch.js';
import { addBinMeans } from '../../profiles/profile.js';
import {
  BaselineExistsError,
  DEFAULT_BASELINE_ID,
  listBaselines,
  saveBaseline,
} from '../../profiles/store.js';
import type { DatasetProfile } from '../../profiles/types.js';
import { type CommandIO, UsageError, writeJson } from '../io.js';

const HELP = `Usage:
  mlmon baseline --model M --version V [--namespace N] (--file F [--categorical a,b] | --from T --to T)
                 [--id ID] [--replace] [--top-k K] [--format table|json]
  mlmon baseline --list [--model M] [--format table|json]

Stores a reference profile (per feature: quantile edges and exact bin counts, mean, standard
deviation, min/max, missing count; categories with counts) for one model version in the
mlmon-baselines index, where mlmon analyze --baseline ID finds it.

  --file F           a CSV (with header) or JSONL file of reference rows; columns are features,
                     except prediction.*, actual.* and explanation.* which are outputs
  --categorical a,b  columns to treat as categorical even when they parse as numbers
  --from, --to       a time window of logged predictions (ISO 8601, now, now-7d): the profile is
                     computed in Elasticsearch with aggregations, no document is pulled out
  --namespace N      data stream namespace of the predictions (default: default)
  --id ID            baseline id within the model version (default: ${DEFAULT_BASELINE_ID})
  --replace          overwrite an existing baseline with the same id
  --top-k K          categories kept per categorical feature (default 100)
  --list             list the stored baselines
`;

export async function baselineCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      version: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      file: { type: 'string' },
      categorical: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      id: { type: 'string', default: DEFAULT_BASELINE_ID },
      replace: { type: 'boolean', default: false },
      'top-k': { type: 'string' },
      list: { type: 'boolean', default: false },
      format: { type: 'string', default: 'table' },
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
  if (values.list) return listCommand(io, values.model, values.format === 'json');
  if (!values.model) throw new UsageError('--model is required (or --list)');
  if (!values.version) throw new UsageError('--version is required: a baseline belongs to one model version');
  const fromFile = values.file !== undefined;
  const fromWindow = values.from !== undefined || values.to !== undefined;
  if (fromFile === fromWindow) throw new UsageError('give either --file F or --from T --to T');
  const topK = values['top-k'] !== undefined ? Number(values['top-k']) : undefined;
  if (topK !== undefined && !(Number.isInteger(topK) && topK > 0))
    throw new UsageError('--top-k must be a positive integer');

  let profile: DatasetProfile | undefined;
  if (fromFile) {
    const table = await readTable(values.file as string);
    profile = profileTable(table, {
      categorical: values.categorical?.split(',').map((s) => s.trim()),
      ...(topK ? { topK } : {}),
    });
    addBinMeans(profile.features, (name) => {
      const cells = table.cells.get(name);
      return cells ? numericValues(cells).values : undefined;
    });
  }
  const client = createClient();
  try {
    await checkConnection(client);
    await installTemplates(client);
    if (!profile) {
      if (!values.from || !values.to) throw new UsageError('--from and --to go together');
      let from: Date;
      let to: Date;
      try {
        from = parseTime(values.from);
        to = parseTime(values.to);
      } catch (error) {
        if (error instanceof WindowError) throw new UsageError(error.message);
        throw error;
      }
      if (!(to > from)) throw new UsageError('--to must be after --from');
      profile = await profileFromElasticsearch(client, {
        namespace: values.namespace,
        model: values.model,
        version: values.version,
        from,
        to,
        ...(topK ? { topCategories: topK } : {}),
      });
    }
    let stored;
    try {
      stored = await saveBaseline(
        client,
        { model: values.model, version: values.version, id: values.id },
        profile,
        { replace: values.replace },
      );
    } catch (error) {
      if (error instanceof BaselineExistsError) throw new UsageError(error.message);
      throw error;
    }
    const features = Object.entries(profile.features).map(([name, f]) => ({
      name,
      kind: f.kind,
      count: f.count,
      missing: f.missing,
    }));
    if (values.format === 'json') {
      writeJson(io, {
        model: stored.model,
        version: stored.version,
        id: stored.id,
        created: stored.created,
        rows: profile.rowCount,
        source: profile.source,
        features,
      });
    } else {
      io.stdout.write(
        `Stored baseline "${stored.id}" for model ${stored.model} version ${stored.version}: ${profile.rowCount} rows, ${features.length} fields\n`,
      );
      for (const f of features)
        io.stdout.write(
          `  ${f.name.padEnd(24)} ${f.kind.padEnd(12)} ${f.count} values, ${f.missing} missing\n`,
        );
    }
    return 0;
  } finally {
    await client.close();
  }
}

async function listCommand(io: CommandIO, model: string | undefined, json: boolean): Promise<number> {
  const client = createClient();
  try {
    await checkConnection(client);
    const list = await listBaselines(client, model ? { model } : {});
    if (json) writeJson(io, list);
    else if (list.length === 0) io.stdout.write('No baselines stored.\n');
    else {
      for (const b of list) {
        const from =
          b.source.type === 'file'
            ? `file ${b.source.path}`
            : `namespace ${b.source.namespace} ${b.source.from} → ${b.source.to}`;
        io.stdout.write(
          `${b.model}  version ${b.version}  id ${b.id}  ${b.count} rows  ${b.features.length} fields  created ${b.created}  from ${from}\n`,
        );
      }
    }
    return 0;
  } finally {
    await client.close();
  }
}
