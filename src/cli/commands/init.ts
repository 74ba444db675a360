/**
 * `mlmon init`: a commented configuration file for one model, from its training CSV/JSONL or from
 * what its data stream already holds: the features, the label and prediction columns, the task and
 * performance bounds measured on the training data (when it has predictions). The file is checked
 * with the same validation `mlmon schedule` applies before it is written.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { detectTask } from '../../analyzer/run.js';
import { checkConnection, createClient } from '../../elastic/client.js';
import { monitoredFields } from '../../elastic/source.js';
import { readTable, type Cell, type Table } from '../../profiles/from-file.js';
import { parseConfigText, validateConfig, ConfigError } from '../../schema/config.js';
import { defineCommand, durationValue, EXIT, namespaceOption, UsageError } from '../command.js';

/** Column names read as the ground truth / the model's output when --label / --prediction are not given. */
const LABEL_NAMES = ['label', 'target', 'y', 'actual', 'class', 'outcome', 'actual.label', 'actual.value'];
const PREDICTION_NAMES = [
  'prediction',
  'predicted',
  'score',
  'prediction.label',
  'prediction.score',
  'prediction.value',
];

export interface ModelDraft {
  model: string;
  source: string;
  features: Array<{ name: string; kind: 'numeric' | 'categorical' }>;
  label: string | null;
  prediction: string | null;
  task: 'binary' | 'multiclass' | 'regression' | null;
  /** measured on the training rows with a prediction and a label */
  training: { metric: 'accuracy' | 'mae'; value: number; rows: number } | null;
  bound: { metric: 'accuracy' | 'mae'; min?: number; max?: number } | null;
}

/** A CSV cell is text: a number is what reads as one. */
const isNumber = (c: Cell): boolean =>
  typeof c === 'number'
    ? Number.isFinite(c)
    : typeof c === 'string' && c.trim() !== '' && Number.isFinite(Number(c));

function pick(columns: string[], given: string | undefined, names: string[], what: string): string | null {
  if (given !== undefined) {
    if (!columns.includes(given))
      throw new UsageError(`--${what} names no column (columns: ${columns.join(', ')})`);
    return given;
  }
  return columns.find((c) => names.includes(c.toLowerCase())) ?? null;
}

/** What a training table says about the model; pure over the table (the test checks it). */
export function draftFromTable(
  model: string,
  table: Table,
  options: { label?: string; prediction?: string } = {},
): ModelDraft {
  const label = pick(table.columns, options.label, LABEL_NAMES, 'label');
  const prediction = pick(table.columns, options.prediction, PREDICTION_NAMES, 'prediction');
  const features = table.columns
    .filter((c) => c !== label && c !== prediction)
    .map((name) => {
      const cells = (table.cells.get(name) ?? []).filter((c) => c !== null);
      return {
        name,
        kind: cells.length > 0 && cells.every(isNumber) ? ('numeric' as const) : ('categorical' as const),
      };
    });
  let task: ModelDraft['task'] = null;
  const labels = label ? (table.cells.get(label) ?? []).filter((c) => c !== null) : [];
  if (labels.length > 0) {
    const distinct = new Set(labels.map(String));
    task =
      labels.every(isNumber) && distinct.size > 10
        ? 'regression'
        : distinct.size <= 2
          ? 'binary'
          : 'multiclass';
  }
  let training: ModelDraft['training'] = null;
  if (label && prediction && task) {
    const ys = table.cells.get(label) ?? [];
    const ps = table.cells.get(prediction) ?? [];
    let n = 0;
    let sum = 0;
    for (let i = 0; i < ys.length; i++) {
      const y = ys[i];
      const p = ps[i];
      if (y === null || y === undefined || p === null || p === undefined) continue;
      n++;
      if (task === 'regression') sum += Math.abs(Number(p) - Number(y));
      // a binary score in [0, 1] is read against 0.5 with class 1 positive, as the analyzer does
      else if (task === 'binary' && isNumber(p) && Number(p) > 0 && Number(p) < 1)
        sum += (Number(p) >= 0.5 ? '1' : '0') === String(y) ? 1 : 0;
      else sum += String(p) === String(y) ? 1 : 0;
    }
    if (n > 0) training = { metric: task === 'regression' ? 'mae' : 'accuracy', value: sum / n, rows: n };
  }
  // A first bound a user adjusts: 5 points below the training accuracy, 1.5 × the training MAE.
  const bound: ModelDraft['bound'] = training
    ? training.metric === 'accuracy'
      ? { metric: 'accuracy', min: Math.floor((training.value - 0.05) * 100) / 100 }
      : { metric: 'mae', max: Number((training.value * 1.5).toPrecision(3)) }
    : null;
  return { model, source: table.path, features, label, prediction, task, training, bound };
}

/** The commented YAML file. */
export function configText(d: ModelDraft, o: { namespace: string; window: string; esUrl: string }): string {
  const L: string[] = [];
  L.push(`# mlmon configuration for model ${d.model}, written by mlmon init from ${d.source}.`);
  L.push('# Run it with: mlmon schedule --config <this file>   (or mlmon analyze --config <this file> ...)');
  L.push('# Reference: docs/configuration.md');
  L.push(`namespace: ${o.namespace}`);
  L.push('elasticsearch:');
  L.push(`  url: ${o.esUrl} # ES_URL overrides it`);
  L.push('models:');
  L.push(`  - name: ${JSON.stringify(d.model)}`);
  L.push(`    window: ${o.window} # one analysis window; drift and performance per window`);
  L.push(
    '    baseline: training # the reference profile: mlmon baseline --model ... --version ... --id training',
  );
  L.push(`    # features (${d.features.length}), as the logger writes them under features.*:`);
  for (const f of d.features) L.push(`    #   ${f.name}: ${f.kind}`);
  L.push(
    `    # label column: ${d.label ?? 'none found (log it as actual.label / actual.value, or give --label)'}`,
  );
  L.push(`    # prediction column: ${d.prediction ?? 'none found (give --prediction)'}`);
  L.push(`    # task: ${d.task ?? 'not known (no labels)'}`);
  L.push('    jobs: [drift, quality, performance, service, comparison]');
  L.push('    performance:');
  if (d.bound && d.training) {
    const b = d.bound.min !== undefined ? `{ min: ${d.bound.min} }` : `{ max: ${d.bound.max} }`;
    L.push(
      `      # training ${d.training.metric} ${d.training.value.toFixed(4)} over ${d.training.rows} rows; the bound leaves ${d.bound.min !== undefined ? '5 points below it' : 'half again above it'}`,
    );
    L.push('      bounds:');
    L.push(`        ${d.bound.metric}: ${b}`);
  } else {
    L.push('      # no prediction and label in the training data to measure a bound on; set one, e.g.');
    L.push(`      # bounds: { ${d.task === 'regression' ? 'mae: { max: 1.0 }' : 'accuracy: { min: 0.8 }'} }`);
    L.push('      bounds: {}');
  }
  return `${L.join('\n')}\n`;
}

export const initCommand = defineCommand({
  name: 'init',
  summary: 'write a commented configuration file for one model (from a training CSV or its data stream)',
  usage: [
    '--model M (--file F | --from-stream) [--label C] [--prediction C] [--window 1h] [--out path] [--force]',
  ],
  description: `Reads a training file (CSV or JSONL) or the model's prediction stream and writes a configuration file
for mlmon schedule / mlmon analyze --config: the features and their kinds, the label and prediction
columns, the task, and a first performance bound measured on the training rows (5 points below
the training accuracy, or 1.5 × the training MAE). The file is validated before it is written.`,
  options: {
    model: { type: 'string', value: 'M', description: 'model name', required: true },
    file: { type: 'string', value: 'F', description: 'training data, CSV or JSONL' },
    'from-stream': { type: 'boolean', description: "read the features from the model's prediction stream" },
    namespace: namespaceOption,
    label: {
      type: 'string',
      value: 'C',
      description: 'the label column (default: label, target, y, actual…)',
    },
    prediction: {
      type: 'string',
      value: 'C',
      description: "the model's output column (default: prediction, score…)",
    },
    window: {
      type: 'string',
      value: 'D',
      description: 'analysis window (default 1h)',
      default: '1h',
      parse: (text: string) => (durationValue(text), text),
    },
    out: { type: 'string', value: 'path', description: 'file to write (default mlmon.config.yaml)' },
    force: { type: 'boolean', description: 'overwrite the file' },
  },
  exitCodes: { 3: 'no predictions of the model in the stream (--from-stream)' },
  run: async (values, io) => {
    if ((values.file === undefined) === !values['from-stream'])
      throw new UsageError('give either --file F or --from-stream');
    const out = values.out ?? 'mlmon.config.yaml';
    if (existsSync(out) && !values.force) throw new UsageError(`${out} exists: give --force to overwrite it`);
    let draft: ModelDraft;
    if (values.file !== undefined) {
      draft = draftFromTable(values.model, await readTable(values.file), values);
    } else {
      const client = createClient();
      try {
        await checkConnection(client);
        const task = await detectTask(client, values.namespace, values.model);
        if (!task) {
          io.stderr.write(`mlmon init: no predictions of ${values.model} in namespace ${values.namespace}\n`);
          return EXIT.nothingToAnalyze;
        }
        const fields = await monitoredFields(client, values.namespace);
        draft = {
          model: values.model,
          source: `logs-mlmon.prediction-${values.namespace}`,
          features: fields.filter((f) => f.role === 'feature').map((f) => ({ name: f.name, kind: f.kind })),
          label: fields.find((f) => f.role === 'target')?.field ?? null,
          prediction: fields.find((f) => f.role === 'prediction')?.field ?? null,
          task,
          training: null,
          bound: null,
        };
      } finally {
        await client.close();
      }
    }
    const text = configText(draft, {
      namespace: values.namespace,
      window: values.window,
      esUrl: process.env.ES_URL ?? 'http://localhost:9200',
    });
    try {
      validateConfig(parseConfigText(text, 'yaml', out), { source: out, env: {} });
    } catch (error) {
      if (error instanceof ConfigError)
        throw new Error(`mlmon init wrote an invalid file (a bug): ${error.message}`);
      throw error;
    }
    writeFileSync(out, text);
    io.stdout.write(
      `wrote ${out}: model ${draft.model}, ${draft.features.length} features, task ${draft.task ?? 'unknown'}${draft.bound ? `, bound ${draft.bound.metric} ${draft.bound.min !== undefined ? `≥ ${draft.bound.min}` : `≤ ${draft.bound.max}`}` : ''}\n`,
    );
    return EXIT.ok;
  },
});
