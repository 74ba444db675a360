import { describeLossModel } from '../../profiles/loss-model.js';
import { checkConnection, createClient } from '../../elastic/client.js';
import { installTemplates } from '../../elastic/templates.js';
import { buildBaseline, describeCalibration } from '../../analyzer/baseline.js';
import {
  MIN_CALIBRATION_LABELS,
  type ReferenceCalibration,
  type ReferenceMulticlassCalibration,
  referenceCalibrationFromTable,
  withReferenceCalibration,
} from '../../profiles/calibration.js';
import {
  columnKind,
  numericValues,
  profileTable,
  readTable,
  SMALL_SAMPLE_ROWS,
  type Cell,
  type Table,
} from '../../profiles/from-file.js';
import { addBinMeans } from '../../profiles/profile.js';
import {
  describeMultivariate,
  multivariateFromTable,
  withMultivariate,
} from '../../profiles/multivariate.js';
import {
  BaselineExistsError,
  DEFAULT_BASELINE_ID,
  deleteBaseline,
  describeBaseline,
  listBaselines,
  saveBaseline,
  type StoredBaseline,
} from '../../profiles/store.js';
import type { DatasetProfile } from '../../profiles/types.js';
import { CALIBRATION_MODES, type CalibrationMode } from '../../stats/performance/calibration.js';
import {
  choice,
  commaList,
  defineCommand,
  EXIT,
  formatOption,
  positiveInteger,
  timeValue,
  UsageError,
  namespaceValue,
  type Command,
} from '../command.js';
import { type CommandIO, writeJson } from '../io.js';

const storeBaselineCommand = defineCommand({
  name: 'baseline',
  summary: 'store a reference profile (from a CSV/JSONL file or a time window)',
  usage: [
    '--model M --version V [--namespace N] (--file F [--categorical a,b] [--exclude a,b] | --from T --to T)',
    '    [--id ID] [--replace] [--top-k K] [--calibration isotonic|none] [--format table|json]',
    '--list [--model M] [--format table|json]',
    'list [--model M] [--namespace N] [--format table|json]',
    'delete --model M --version V --id ID [--namespace N]',
  ],
  description: `Stores a reference profile (per feature: quantile edges and exact bin counts, mean, standard
deviation, min/max, missing count; categories with counts) for one model version in the
mlmon-baselines index, where mlmon analyze --baseline ID finds it. A baseline belongs to one
namespace: a staging and a prod baseline of one model version are two. mlmon baseline list shows
the stored ones (--list too), mlmon baseline delete removes one.

For a model with scores (binary), the reference's labels calibrate them: the outcomes logged so far
are joined to their predictions, and an isotonic map from score to P(positive) is fitted on the
labelled reference predictions (a file: its prediction.score and actual.label columns) and stored
with the profile; analyze and schedule then estimate performance (CBPE) through it. With fewer than
${MIN_CALIBRATION_LABELS} labelled reference predictions, or one class only, no map is stored, the baseline says
why, and the estimate takes raw scores as probabilities.`,
  options: {
    model: { type: 'string', value: 'M', description: 'model name' },
    version: { type: 'string', value: 'V', description: 'model version (a baseline belongs to one)' },
    namespace: {
      type: 'string',
      value: 'N',
      description:
        'namespace the baseline belongs to (analyze and schedule in it find it), and of\nthe predictions a window is profiled from (default: default)',
      default: 'default',
      parse: namespaceValue,
    },
    file: {
      type: 'string',
      value: 'F',
      description:
        'a CSV (with header) or JSONL file of reference rows; columns are features,\nexcept prediction.*, actual.* and explanation.* which are outputs',
    },
    categorical: {
      type: 'string',
      value: 'a,b',
      description:
        'columns to treat as categorical even when they parse as numbers\n(prediction.label and actual.label always are: they are labels)',
      parse: commaList,
    },
    exclude: {
      type: 'string',
      value: 'a,b',
      description: 'with --file: leave these columns out (e.g. a row id), as compare --exclude',
      multiple: true,
      parse: commaList,
    },
    from: {
      type: 'string',
      value: 'T',
      description:
        'a time window of logged predictions (ISO 8601, now, now-7d): the profile is\ncomputed in Elasticsearch with aggregations, no document is pulled out',
      parse: timeValue,
    },
    to: { type: 'string', value: 'T', description: 'end of that window', parse: timeValue },
    id: {
      type: 'string',
      value: 'ID',
      description: `baseline id within the model version (default: ${DEFAULT_BASELINE_ID})`,
      default: DEFAULT_BASELINE_ID,
    },
    replace: { type: 'boolean', description: 'overwrite an existing baseline with the same id' },
    'top-k': {
      type: 'string',
      value: 'K',
      description: 'categories kept per categorical feature (default 100)',
      parse: positiveInteger,
    },
    calibration: {
      type: 'string',
      value: 'M',
      description: 'isotonic (default): calibrate scores on the reference labels; none: raw scores',
      default: 'isotonic',
      parse: choice<CalibrationMode>(...CALIBRATION_MODES),
    },
    list: {
      type: 'boolean',
      description: 'list the stored baselines of every namespace (as "mlmon baseline list")',
    },
    format: formatOption,
  },
  exitCodes: { 3: 'a baseline with this id exists (give --replace to overwrite it)' },
  // Length: about 110 lines: the checks of both sources (file or window) before anything is
  // contacted, then the one call to each, read top to bottom.
  run: async (values, io) => {
    if (values.list) return listCommand(io, { model: values.model }, values.format === 'json');
    if (!values.model) throw new UsageError('--model is required (or --list)');
    if (!values.version)
      throw new UsageError('--version is required: a baseline belongs to one model version');
    const fromFile = values.file !== undefined;
    const fromWindow = values.from !== undefined || values.to !== undefined;
    if (fromFile === fromWindow) throw new UsageError('give either --file F or --from T --to T');
    const { from, to } = values;
    if (fromWindow) {
      if (!from || !to) throw new UsageError('--from and --to go together');
      if (!(to > from)) throw new UsageError('--to must be after --from');
    }
    const topK = values['top-k'];
    const exclude = values.exclude.flat();
    if (exclude.length > 0 && !fromFile) throw new UsageError('--exclude goes with --file');

    const mode = values.calibration;
    let profile: DatasetProfile | undefined;
    let calibration: ReferenceCalibration | ReferenceMulticlassCalibration | undefined;
    const notes: string[] = [];
    if (values.file !== undefined) {
      const table = await readTable(values.file);
      const unknown = (values.categorical ?? []).filter((c) => !table.columns.includes(c));
      if (unknown.length > 0)
        throw new UsageError(`--categorical names no column of ${values.file}: ${unknown.join(', ')}`);
      const unknownExclude = exclude.filter((c) => !table.columns.includes(c));
      if (unknownExclude.length > 0)
        throw new UsageError(`--exclude names no column of ${values.file}: ${unknownExclude.join(', ')}`);
      notes.push(...fileNotes(table, values.categorical ?? [], exclude));
      calibration = referenceCalibrationFromTable(table, { mode });
      profile = withReferenceCalibration(
        profileTable(table, {
          categorical: values.categorical,
          exclude,
          ...(topK ? { topK } : {}),
        }),
        calibration,
      );
      addBinMeans(profile.features, (name) => {
        const cells = table.cells.get(name);
        return cells ? numericValues(cells).values : undefined;
      });
      profile = withMultivariate(profile, multivariateFromTable(table, profile));
    }
    const client = createClient();
    try {
      await checkConnection(client);
      await installTemplates(client);
      let stored: StoredBaseline;
      try {
        if (profile) {
          stored = await saveBaseline(
            client,
            { model: values.model, version: values.version, id: values.id, namespace: values.namespace },
            profile,
            { replace: values.replace },
          );
        } else {
          const built = await buildBaseline(client, {
            namespace: values.namespace,
            model: values.model,
            version: values.version,
            id: values.id,
            from: from as Date,
            to: to as Date,
            replace: values.replace,
            calibration: mode,
            ...(topK ? { topCategories: topK } : {}),
          });
          ({ stored, profile } = built);
          calibration = built.multiclassCalibration ?? built.calibration;
        }
      } catch (error) {
        // A refusal, not a malformed command line: exit 3 (the cluster was asked).
        if (error instanceof BaselineExistsError) {
          io.stderr.write(`mlmon baseline: ${error.message}\n`);
          return EXIT.nothingToAnalyze;
        }
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
          calibration: profile.calibration ??
            profile.multiclassCalibration ?? { method: 'none', ...(profile.uncalibrated ?? {}) },
        });
      } else {
        io.stdout.write(
          `Stored baseline "${stored.id}" for model ${stored.model} version ${stored.version}: ${profile.rowCount} rows, ${features.length} fields\n`,
        );
        for (const f of features)
          io.stdout.write(
            `  ${f.name.padEnd(24)} ${f.kind.padEnd(12)} ${f.count} values, ${f.missing} missing\n`,
          );
        if (calibration) io.stdout.write(`${describeCalibration(calibration)}\n`);
        if (profile.lossModel)
          io.stdout.write(`${describeLossModel({ method: 'dle', model: profile.lossModel })}\n`);
        else if (profile.noLossModel)
          io.stdout.write(`${describeLossModel({ method: 'none', ...profile.noLossModel })}\n`);
        const multivariate = describeMultivariate(profile);
        if (multivariate) io.stdout.write(`${multivariate}\n`);
      }
      for (const note of notes) io.stderr.write(`note: ${note}\n`);
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
});

/** What a reference file's profile should say about itself: few rows, non-finite numbers. */
function fileNotes(table: Table, categorical: readonly string[], exclude: readonly string[]): string[] {
  const notes: string[] = [];
  if (table.rowCount < SMALL_SAMPLE_ROWS)
    notes.push(
      `the file has ${table.rowCount} row${table.rowCount === 1 ? '' : 's'}: below ${SMALL_SAMPLE_ROWS} values the drift tests against this baseline see only large changes`,
    );
  for (const name of table.columns) {
    const cells = table.cells.get(name) as Cell[];
    if (exclude.includes(name) || columnKind(name, cells, categorical) === 'categorical') continue;
    const { nonFinite } = numericValues(cells);
    if (nonFinite > 0)
      notes.push(
        `${name}: ${nonFinite} non-finite value${nonFinite === 1 ? '' : 's'} (Infinity, NaN) stored as missing, as logged predictions arrive in Elasticsearch (JSON has no such numbers)`,
      );
  }
  return notes;
}

async function listCommand(
  io: CommandIO,
  filter: { model?: string; namespace?: string },
  json: boolean,
): Promise<number> {
  const client = createClient();
  try {
    await checkConnection(client);
    const list = await listBaselines(client, filter);
    if (json) writeJson(io, list);
    else if (list.length === 0) io.stdout.write('No baselines stored.\n');
    else {
      for (const b of list) {
        const from =
          b.source.type === 'file'
            ? `file ${b.source.path}`
            : `namespace ${b.source.namespace} ${b.source.from} → ${b.source.to}`;
        io.stdout.write(
          `${b.model}  version ${b.version}  namespace ${b.namespace}  id ${b.id}  created ${b.created}  from ${from}  ${b.count} rows  ${b.features.length} fields  calibration ${b.calibration.method}${b.calibration.knots !== undefined ? ` (${b.calibration.knots} knots)` : b.calibration.reason ? ` (${b.calibration.reason})` : ''}\n`,
        );
      }
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

const namespaceOption = {
  type: 'string',
  value: 'N',
  description: 'data stream namespace the baseline belongs to (default: default)',
  parse: namespaceValue,
} as const;

const listBaselinesCommand = defineCommand({
  name: 'baseline list',
  summary: 'list the stored baselines',
  usage: ['[--model M] [--namespace N] [--format table|json]'],
  description: `Lists the stored baselines, newest first: model, version, namespace, id, when it was created
and what it was profiled from (a file, or a namespace and time window). Without --namespace, those of
every namespace; a baseline stored before baselines had a namespace is listed as the default one's.`,
  options: {
    model: { type: 'string', value: 'M', description: 'only this model' },
    namespace: { ...namespaceOption, description: 'only this namespace (default: every namespace)' },
    format: formatOption,
  },
  run: async (values, io) =>
    listCommand(
      io,
      {
        ...(values.model ? { model: values.model } : {}),
        ...(values.namespace ? { namespace: values.namespace } : {}),
      },
      values.format === 'json',
    ),
});

const deleteBaselineCommand = defineCommand({
  name: 'baseline delete',
  summary: 'delete one stored baseline',
  usage: ['--model M --version V --id ID [--namespace N]'],
  description: `Deletes one baseline, named by model, version, id and namespace (the id is asked for even when
it is "${DEFAULT_BASELINE_ID}": a deletion names what it deletes). Results already written against it keep
their reference id; analyze and schedule then say the baseline is missing.`,
  options: {
    model: { type: 'string', value: 'M', description: 'model name' },
    version: { type: 'string', value: 'V', description: 'model version' },
    id: { type: 'string', value: 'ID', description: 'baseline id within the model version' },
    namespace: { ...namespaceOption, default: 'default' },
  },
  exitCodes: { 3: 'no such baseline: nothing was deleted' },
  run: async (values, io) => {
    if (!values.model) throw new UsageError('--model is required');
    if (!values.version) throw new UsageError('--version is required');
    if (!values.id)
      throw new UsageError(`--id is required (the default baseline's is ${DEFAULT_BASELINE_ID})`);
    const key = { model: values.model, version: values.version, id: values.id, namespace: values.namespace };
    const client = createClient();
    try {
      await checkConnection(client);
      const deleted = await deleteBaseline(client, key);
      if (!deleted) {
        io.stderr.write(`mlmon baseline delete: no ${describeBaseline(key)}: nothing deleted\n`);
        return EXIT.nothingToAnalyze;
      }
      io.stdout.write(
        `Deleted baseline "${deleted.id}" of model ${deleted.model} version ${deleted.version} in namespace ${deleted.namespace} (created ${deleted.created})\n`,
      );
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
});

const SUBCOMMANDS: Record<string, Command> = { list: listBaselinesCommand, delete: deleteBaselineCommand };

/**
 * `mlmon baseline [options]` stores a baseline; `mlmon baseline list` and `mlmon baseline delete`
 * manage the stored ones. Not a command group: storing, the common case, keeps its short form.
 */
export const baselineCommand: Command = Object.assign(
  async (argv: string[], io: CommandIO): Promise<number> => {
    const [first, ...rest] = argv;
    const sub = first === undefined ? undefined : SUBCOMMANDS[first];
    return sub ? sub(rest, io) : storeBaselineCommand(argv, io);
  },
  { spec: storeBaselineCommand.spec, help: storeBaselineCommand.help },
);
