/**
 * `mlmon demo`: replays a real data set with real drift as a monitored model, end to end.
 *
 * ELEC2 (`../shared/datasets/elec.csv`, 45,312 half-hourly rows from 1996-05-07) becomes production
 * traffic: a logistic regression is fitted on the first four weeks (the reference, i.e. training
 * data), every row is then predicted and logged through the mlmon logger with row i at
 * 1996-05-07T00:00Z + 30 min × i, and its true label arrives one day later through `logOutcome`.
 * The demo then stores a baseline, analyzes weekly windows in Elasticsearch and prints what it found.
 * `--dataset weather` does the same with the daily weather data; each data set's feature names, time
 * mapping, reference period and window come from demo/datasets.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkConnection, createClient } from '../../elastic/client.js';
import { ensureElasticsearch } from '../../elastic/local-cluster.js';
import { describeSetup, installTemplates } from '../../elastic/templates.js';
import { runFullAnalysis, type FullAnalysisResult } from '../../analyzer/run.js';
import { createPredictionLogger } from '../../logger/index.js';
import { profileFromElasticsearch } from '../../profiles/from-elasticsearch.js';
import { saveBaseline } from '../../profiles/store.js';
import { BASELINES_INDEX, logStream, namespacePattern, resultStream } from '../../schema/streams.js';
import { readLabelledCsv } from '../demo/dataset.js';
import { DEMO_DATASET_IDS, demoDataset, rowTime, withFeatureNames } from '../demo/datasets.js';
import { fitLogistic, predictProbability } from '../demo/logistic.js';
import { defineCommand, EXIT, formatOption, positiveInteger, UsageError } from '../command.js';
import { type CommandIO, writeJson } from '../io.js';

/** How long the demo waits for the replay to be indexed before it analyzes. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;

function defaultDataPath(file: string): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  // From src/cli/commands (tsx) and dist/cli/commands (built) alike, the project root is three up.
  return join(root, '..', 'shared', 'datasets', file);
}

function datasetValue(text: string): string {
  if (!(DEMO_DATASET_IDS as readonly string[]).includes(text))
    throw new UsageError(`must be one of ${DEMO_DATASET_IDS.join(', ')}, not "${text}"`);
  return text;
}

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'replay a real data set (ELEC2) as a monitored model, end to end',
  usage: [
    '[--dataset elec|weather] [--data path/to/file.csv] [--rows N] [--namespace demo] [--format table|json]',
  ],
  description: `Replays ELEC2 as a monitored model: starts (or reuses) Elasticsearch, installs the templates, fits a
logistic regression on the first 4 weeks, logs every prediction with the mlmon logger and its true
label one day later, stores a baseline, analyzes weekly windows and prints the drift it finds.`,
  options: {
    dataset: {
      type: 'string',
      value: 'ID',
      description:
        'elec (default) or weather (daily rain at Bellevue, Nebraska; about 2 years\nof reference, 52-week windows)',
      default: 'elec',
      parse: datasetValue,
    },
    data: {
      type: 'string',
      value: 'PATH',
      description: 'the CSV (default ../shared/datasets/<elec|weather>.csv next to the project)',
    },
    rows: {
      type: 'string',
      value: 'N',
      description: 'replay only the first N rows (default all; more than the reference rows)',
      parse: positiveInteger,
    },
    namespace: {
      type: 'string',
      value: 'NS',
      description: 'data stream namespace (default demo)',
      default: 'demo',
    },
    format: formatOption,
  },
  run: (values, io) => runDemo(values, io),
});

async function runDemo(
  values: {
    dataset: string;
    data: string | undefined;
    rows: number | undefined;
    namespace: string;
    format: 'table' | 'json';
  },
  io: CommandIO,
): Promise<number> {
  const json = values.format === 'json';
  const say = (line: string) => {
    if (!json) io.stdout.write(`${line}\n`);
  };
  const ds = demoDataset(values.dataset as (typeof DEMO_DATASET_IDS)[number]);
  const START = ds.start;
  const REFERENCE_ROWS = ds.referenceRows;
  const LABEL_DELAY_ROWS = ds.labelDelayRows;
  // Checked before any I/O: the reference rows come first, so fewer leave nothing to monitor.
  if (values.rows !== undefined && values.rows <= REFERENCE_ROWS)
    throw new UsageError(
      `--rows: must be above ${REFERENCE_ROWS} (the first ${REFERENCE_ROWS} rows are the reference)`,
    );
  const dataPath = values.data ?? defaultDataPath(ds.file);
  if (!existsSync(dataPath)) throw new UsageError(`data set not found: ${dataPath} (use --data)`);
  const namespace = values.namespace;

  // 1. Elasticsearch: ES_URL, or one left by es:start, or a new local one left running afterwards.
  const cluster = await ensureElasticsearch({ persist: true });
  const client = createClient({ node: cluster.url });
  const server = await checkConnection(client);
  say(
    `Elasticsearch ${server.version} at ${cluster.url}${cluster.started ? ' (started for the demo; npm run es:stop stops it)' : ''}`,
  );

  // 2. Templates.
  const setup = await installTemplates(client);
  say(
    `index templates: ${setup.changed ? describeSetup(setup).filter((l) => !l.includes('unchanged')).length + ' changes' : 'up to date'}`,
  );

  // 3. The model in production.
  const data = withFeatureNames(readLabelledCsv(dataPath), ds);
  const rows = Math.min(values.rows ?? data.rows.length, data.rows.length);
  if (rows <= REFERENCE_ROWS)
    throw new Error(`${dataPath} has ${rows} rows: the demo needs more than ${REFERENCE_ROWS}`);
  const model = fitLogistic(
    data.rows.slice(0, REFERENCE_ROWS),
    data.labels.slice(0, REFERENCE_ROWS),
    data.features,
  );
  let trainCorrect = 0;
  for (let i = 0; i < REFERENCE_ROWS; i++) {
    trainCorrect += (predictProbability(model, data.rows[i]!) >= 0.5 ? 1 : 0) === data.labels[i] ? 1 : 0;
  }
  say(
    `model: logistic regression on ${data.features.length} features, fitted on the first ${REFERENCE_ROWS} rows (training accuracy ${(trainCorrect / REFERENCE_ROWS).toFixed(3)})`,
  );

  // 4. Replay through the logger: predictions, and each truth one day later.
  const modelRef = ds.model;
  const monitor = createPredictionLogger({ node: client, namespace, model: modelRef });
  const ids: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < rows; i++) {
    const row = data.rows[i]!;
    const score = predictProbability(model, row);
    const features: Record<string, number> = {};
    data.features.forEach((f, j) => (features[f] = row[j]!));
    ids.push(
      monitor.logPrediction({
        id: `${ds.id}-${i}`,
        timestamp: rowTime(ds, i),
        features,
        prediction: { label: score >= 0.5 ? '1' : '0', score },
        latencyMs: 0.05 + (i % 7) * 0.01,
      }),
    );
    const labelled = i - LABEL_DELAY_ROWS;
    if (labelled >= 0) {
      monitor.logOutcome({
        id: ids[labelled]!,
        actual: { label: String(data.labels[labelled]) },
        timestamp: rowTime(ds, i),
      });
    }
    // Let the shipper work as traffic flows, as a service's event loop would.
    if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
  }
  for (let j = Math.max(0, rows - LABEL_DELAY_ROWS); j < rows; j++) {
    monitor.logOutcome({
      id: ids[j]!,
      actual: { label: String(data.labels[j]) },
      timestamp: rowTime(ds, j + LABEL_DELAY_ROWS),
    });
  }
  // Wait until everything is indexed before analyzing: close() alone gives the shipper its close
  // timeout and spools the rest to disk (for the next start), and on a busy machine a fresh cluster
  // can take longer than that to absorb a replay: the analysis would then see part of the data.
  const drained = await monitor.flush(DRAIN_TIMEOUT_MS);
  const counters = await monitor.close();
  if (!drained)
    io.stderr.write(
      `warning: ${counters.indexed} of ${counters.accepted} events indexed within ${DRAIN_TIMEOUT_MS / 1000} s; the rest is in the logger's spool and the analysis covers what was indexed\n`,
    );
  const seconds = (Date.now() - t0) / 1000;
  say(
    `logged ${rows} predictions and ${rows} outcomes in ${seconds.toFixed(1)} s: ${JSON.stringify(counters)}`,
  );
  await client.indices.refresh({ index: namespacePattern(namespace) });

  const streams: Record<string, number> = {};
  for (const stream of [
    logStream('prediction', namespace),
    logStream('outcome', namespace),
    logStream('deadletter', namespace),
  ]) {
    const count = await client.count({ index: stream }, { ignore: [404] });
    streams[stream] = count.count ?? 0;
  }
  // 5. Baseline: the reference weeks, profiled in Elasticsearch with aggregations.
  const referenceEnd = new Date(rowTime(ds, REFERENCE_ROWS));
  const profile = await profileFromElasticsearch(client, {
    namespace,
    model: modelRef.name,
    version: modelRef.version,
    from: new Date(START),
    to: referenceEnd,
  });
  await saveBaseline(client, { model: modelRef.name, version: modelRef.version, id: 'training' }, profile, {
    replace: true,
  });
  say(
    `baseline "training": ${profile.rowCount} reference predictions, ${Object.keys(profile.features).length} fields profiled (${BASELINES_INDEX})`,
  );

  // 6. Analysis: weekly windows after the reference, computed in Elasticsearch.
  const end = new Date(rowTime(ds, rows));
  const t1 = Date.now();
  const analysis = await runFullAnalysis(client, {
    namespace,
    model: modelRef.name,
    version: modelRef.version,
    from: referenceEnd,
    to: end,
    windowMs: ds.window.ms,
    windowSize: ds.window.size,
    anchor: new Date(START),
    reference: { type: 'baseline', id: 'training' },
    positiveClass: '1',
    threshold: 0.5,
    refresh: true,
  });
  const summary = summarize(analysis);
  say(
    `analyzed ${summary.windows} ${ds.window.name} windows in ${((Date.now() - t1) / 1000).toFixed(1)} s (drift, quality, performance, service health)`,
  );
  say('');
  say(`drift by feature (reference: the first ${REFERENCE_ROWS} rows):`);
  for (const f of summary.features) {
    say(
      `  ${f.name.padEnd(22)} drifted in ${String(f.drifted).padStart(3)}/${summary.windows} windows; first flagged ${f.first ?? '-'}`,
    );
  }
  say('');
  say('accuracy per quarter (realised from the delayed labels, and estimated from the scores alone):');
  for (const q of summary.quarters) {
    say(
      `  ${q.label}  realised ${q.realised?.toFixed(3) ?? '-'}  estimated ${q.estimated?.toFixed(3) ?? '-'}  (${q.weeks} windows)`,
    );
  }
  say('');
  say('where the data went:');
  for (const [stream, count] of Object.entries(streams)) say(`  ${stream}: ${count} documents`);
  for (const kind of ['drift', 'quality', 'performance', 'service'] as const) {
    const stream = resultStream(kind, namespace);
    const count = await client.count({ index: stream }, { ignore: [404] });
    streams[stream] = count.count ?? 0;
    say(`  ${stream}: ${streams[stream]} documents`);
  }
  say('');
  say(
    `Look at them: ES_URL=${cluster.url} npm run mlmon -- analyze --model ${modelRef.name} --namespace ${namespace} --from ${referenceEnd.toISOString().replace('.000Z', 'Z')} --to ${new Date(referenceEnd.getTime() + 2 * ds.window.ms).toISOString().replace('.000Z', 'Z')} --window ${ds.window.size} --align-to ${new Date(START).toISOString().replace('.000Z', 'Z')} --baseline training`,
  );

  if (json)
    writeJson(io, {
      elasticsearch: { url: cluster.url, version: server.version },
      rows,
      counters,
      streams,
      summary,
    });
  await client.close();
  return EXIT.ok;
}

interface DemoSummary {
  windows: number;
  features: Array<{ name: string; drifted: number; first?: string }>;
  quarters: Array<{ label: string; weeks: number; realised?: number; estimated?: number }>;
}

function get(doc: Record<string, unknown>, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

/** Per feature: weeks drifted and the first; per quarter: mean realised and estimated accuracy. */
function summarize(analysis: FullAnalysisResult): DemoSummary {
  const windows = analysis.drift.versions[0]?.windows ?? [];
  const features = new Map<string, { drifted: number; first?: string }>();
  for (const w of windows) {
    for (const f of w.fields) {
      const entry = features.get(f.name) ?? { drifted: 0 };
      if (f.drift?.detected) {
        entry.drifted++;
        entry.first ??= w.start.slice(0, 10);
      }
      features.set(f.name, entry);
    }
  }
  const quarters = new Map<string, { weeks: number; realised: number[]; estimated: number[] }>();
  for (const w of analysis.windows) {
    const model = w.performance.find((d) => get(d, 'performance.scope') === 'model');
    if (!model) continue;
    const month = Number(w.start.slice(5, 7));
    const label = `${w.start.slice(0, 4)} Q${Math.ceil(month / 3)}`;
    const q = quarters.get(label) ?? { weeks: 0, realised: [], estimated: [] };
    q.weeks++;
    const realised = get(model, 'performance.accuracy');
    const estimated = get(model, 'performance.estimated.accuracy');
    if (typeof realised === 'number') q.realised.push(realised);
    if (typeof estimated === 'number') q.estimated.push(estimated);
    quarters.set(label, q);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
  return {
    windows: windows.length,
    features: [...features].map(([name, f]) => ({ name, ...f })),
    quarters: [...quarters].map(([label, q]) => ({
      label,
      weeks: q.weeks,
      realised: mean(q.realised),
      estimated: mean(q.estimated),
    })),
  };
}
