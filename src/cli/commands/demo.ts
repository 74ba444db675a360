/**
 * `mlmon demo`: a model in production, end to end, over simulated time.
 *
 * A real data set with real drift (ELEC2 by default, `--dataset weather`; demo/datasets.ts says how
 * each maps to time) becomes production traffic. A logistic regression is fitted on the reference
 * period (its training data). Then the demo's clock runs through the data as a deployment would
 * live it, one analysis window at a time:
 * - the service logs every prediction through the mlmon logger as its time comes, and the true
 *   label (`logOutcome`) a day later (demo/replay.ts);
 * - once the reference period's labels are in, a baseline is stored with the same profile
 *   functions as `mlmon baseline --from --to`;
 * - every `passEveryWindows` windows (four weeks on ELEC2) the scheduler of `mlmon schedule`
 *   (Scheduler.runModelPass, with its locks, checkpoints and jobs drift, quality, performance,
 *   service) runs a pass at that simulated time: it analyzes the windows due since its last pass,
 *   and re-runs the last window of the previous pass, whose last day of labels arrived since (late
 *   labels, Scheduler.planRelabel).
 * Afterwards it writes the HTML report of `mlmon report` for the whole period, installs the Kibana
 * dashboards and rules when KIBANA_URL is set, mails the report when SMTP_URL is set, and prints
 * what happened in words (demo/summary.ts).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { buildBaseline, describeCalibration } from '../../analyzer/baseline.js';
import { refreshInputs } from '../../analyzer/refresh.js';
import { checkConnection, createClient } from '../../elastic/client.js';
import { describeSetup, installTemplates } from '../../elastic/templates.js';
import { buildReport, reportHtmlFile } from '../../report/index.js';
import type { ModelConfig } from '../../schema/config.js';
import { BASELINES_INDEX, logStream, resultStream } from '../../schema/streams.js';
import { parseLogLines } from '../../scheduler/log.js';
import { readLabelledCsv } from '../demo/dataset.js';
import {
  DEMO_DATASET_IDS,
  demoDataPath,
  demoDataset,
  rowTime,
  withFeatureNames,
  type DemoDataset,
} from '../demo/datasets.js';
import { fitLogistic, predictProbability } from '../demo/logistic.js';
import { removeEarlierRun } from '../demo/cleanup.js';
import { installDashboards, mailReport } from '../demo/publish.js';
import { Replay } from '../demo/replay.js';
import {
  BASELINE_ID,
  demoModelConfig,
  JOBS,
  runSchedulerPasses,
  settle,
  type SchedulerPasses,
} from '../demo/scheduler-passes.js';
import { renderSummary, summarizeDemo } from '../demo/summary.js';
import {
  defineCommand,
  EXIT,
  formatOption,
  namespaceValue,
  positiveInteger,
  UsageError,
} from '../command.js';
import { type CommandIO, writeJson } from '../io.js';

export type { DemoKibanaResult } from '../demo/publish.js';

function datasetValue(text: string): string {
  if (!(DEMO_DATASET_IDS as readonly string[]).includes(text))
    throw new UsageError(`must be one of ${DEMO_DATASET_IDS.join(', ')}, not "${text}"`);
  return text;
}

const isoSeconds = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'a model in production end to end: ELEC2 replayed, scheduled analysis, report, dashboards',
  usage: [
    '[--dataset elec|weather] [--data path/to/file.csv] [--rows N] [--namespace demo]',
    '    [--report file.html] [--mail-to addr] [--format table|json]',
  ],
  description: `Replays ELEC2 as a model in production over simulated time: starts (or reuses) Elasticsearch,
installs the templates, fits a logistic regression on the reference period, logs every prediction
with the mlmon logger as its time comes and its true label one day later, stores a baseline, and
runs the scheduler of "mlmon schedule" every four weeks of simulated time (late labels re-run the
window they belong to). Then it writes the HTML report, installs the Kibana dashboards and alert
rules (KIBANA_URL), mails the report (SMTP_URL), and says what it found: when drift began and in
which features, how accuracy moved, and where the label-free estimate cannot be trusted.
An earlier demo run in the same namespace is removed first.`,
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
      description: "the CSV, plain or gzipped (default the project's data/<elec|weather>.csv.gz)",
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
      parse: namespaceValue,
    },
    report: {
      type: 'string',
      value: 'FILE',
      description: 'where the HTML report goes (default mlmon-demo-<dataset>.html here)',
    },
    'mail-to': {
      type: 'string',
      value: 'ADDR',
      description: 'with SMTP_URL: mail the report to ADDR (default ALERT_EMAIL_TO, else demo@localhost)',
    },
    format: formatOption,
  },
  notes: `Environment: ES_URL, with ES_API_KEY or ES_USERNAME/ES_PASSWORD and ES_CA_CERT for a secured
cluster (from a clone, \`npm run demo\` starts a local Elasticsearch, left running, and sets ES_URL),
KIBANA_URL with KIBANA_API_KEY or KIBANA_USERNAME/KIBANA_PASSWORD, SMTP_URL and SMTP_FROM.`,
  run: (values, io) => runDemo(values, io),
});

interface DemoValues {
  dataset: string;
  data: string | undefined;
  rows: number | undefined;
  namespace: string;
  report: string | undefined;
  'mail-to': string | undefined;
  format: 'table' | 'json';
}

async function runDemo(values: DemoValues, io: CommandIO): Promise<number> {
  const json = values.format === 'json';
  const say = (line = '') => {
    if (!json) io.stdout.write(`${line}\n`);
  };
  const ds = demoDataset(values.dataset);
  // Checked before any I/O: the reference rows come first, so fewer leave nothing to monitor.
  const minimumRows = ds.referenceRows + ds.window.ms / ds.stepMs;
  if (values.rows !== undefined && values.rows < minimumRows)
    throw new UsageError(
      `--rows: must be at least ${minimumRows} (the ${ds.referenceRows} reference rows and one ${ds.window.name} window)`,
    );
  const dataPath = values.data ?? demoDataPath(ds);
  if (!existsSync(dataPath)) throw new UsageError(`data set not found: ${dataPath} (use --data)`);
  const reportPath = resolve(values.report ?? `mlmon-demo-${ds.id}.html`);
  const namespace = values.namespace;

  // 1. Elasticsearch: ES_URL (and its credentials, as every command). Starting a local node is
  // development tooling outside the published package: `npm run demo` does it, then runs this.
  const esUrl = process.env.ES_URL;
  if (!esUrl)
    throw new UsageError(
      'ES_URL is not set: point it at an Elasticsearch (from a clone of the repository, `npm run demo` starts a local one)',
    );
  const cluster = { url: esUrl.replace(/\/$/, '') };
  const client = createClient();
  try {
    const server = await connect(client, cluster, say);

    // 2. The model in production, fitted on the reference period.
    const { data, rows, model } = fitDemoModel(ds, dataPath, values.rows, minimumRows, say);
    const referenceEnd = rowTime(ds, ds.referenceRows);

    // 3. A clean namespace: an earlier run's data and scheduler state would be counted twice.
    const dataEnd = rowTime(ds, rows);
    const lastEnd = referenceEnd + Math.floor((dataEnd - referenceEnd) / ds.window.ms) * ds.window.ms;
    const removed = await removeEarlierRun(client, namespace, ds, referenceEnd, lastEnd + ds.window.ms);
    if (removed > 0) say(`removed an earlier demo run from namespace ${namespace} (${removed} documents)`);

    // 4. Simulated time: the reference period and its labels, then the baseline.
    const replay = new Replay({ client, namespace, dataset: ds, data, rows, model });
    const labelDelayMs = ds.labelDelayRows * ds.stepMs;
    await replay.advanceTo(referenceEnd + labelDelayMs);
    await settle(replay, io);
    await storeBaseline(client, namespace, ds, referenceEnd, say);

    // 5. The scheduler every few windows, as `mlmon schedule` would run it after a pause.
    const modelConfig = demoModelConfig(ds, namespace, referenceEnd);
    const windows = (lastEnd - referenceEnd) / ds.window.ms;
    const t0 = Date.now();
    const { totals, timing, schedulerLog } = await runSchedulerPasses({
      client,
      ds,
      replay,
      modelConfig,
      referenceEnd,
      lastEnd,
      labelDelayMs,
      io,
    });
    await replay.advanceTo(dataEnd + labelDelayMs + ds.stepMs);
    const counters = await replay.close();
    const analysisSeconds = (Date.now() - t0) / 1000;
    const replayed = { rows, windows, referenceEnd, lastEnd, analysisSeconds, counters };
    describePasses(ds, replayed, { totals, timing, schedulerLog }, say, io);

    // 6. The report of the whole monitored period, as `mlmon report --out` writes it.
    const period = { start: new Date(referenceEnd), end: new Date(lastEnd) };
    const bounds = modelConfig.model.performance.bounds;
    const written = await writeDemoReport(client, ds, namespace, period, bounds, reportPath);
    const { report, charts, modelReport } = written;
    const summary = summarizeDemo(modelReport.data, ds.window.ms);
    const streams = await countStreams(client, namespace, ds.model.name);
    const summaryText = describeReport(ds, referenceEnd, summary, written, reportPath, say);

    // 7. Kibana and e-mail when configured; otherwise one line on how.
    const kibana = await installDashboards(ds, namespace, period, io);
    for (const line of kibana.lines) say(line);
    const mail = await mailReport(report, charts, values['mail-to'], io);
    for (const line of mail.lines) say(line);
    say('');
    say('where the data went:');
    for (const [stream, count] of Object.entries(streams)) say(`  ${stream}: ${count} documents`);
    say(
      `Look again: ES_URL=${cluster.url} npm run mlmon -- report --model ${ds.model.name} --namespace ${namespace} --from ${isoSeconds(referenceEnd)} --to ${isoSeconds(lastEnd)} --out report.html`,
    );

    if (json)
      writeJson(io, {
        elasticsearch: { url: cluster.url, version: server.version },
        dataset: ds.id,
        rows,
        counters,
        scheduler: totals,
        timing,
        streams,
        summary,
        summaryText,
        report: { path: reportPath, charts: charts.length, verdict: modelReport.verdict },
        kibana: kibana.result,
        mail: mail.result,
      });
    return totals.failed > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await client.close();
  }
}

/** The cluster reached and the index templates installed, in one line each. */
async function connect(
  client: Client,
  cluster: { url: string },
  say: (line?: string) => void,
): Promise<{ version: string }> {
  const server = await checkConnection(client);
  say(`Elasticsearch ${server.version} at ${cluster.url}`);
  const setup = await installTemplates(client);
  say(
    `index templates: ${setup.changed ? describeSetup(setup).filter((l) => !l.includes('unchanged')).length + ' changes' : 'up to date'}`,
  );
  return server;
}

/**
 * `mlmon baseline`'s own path: both streams refreshed, the reference labels joined, the reference
 * profiled, and the scores calibrated on those labels (stored with the baseline).
 */
async function storeBaseline(
  client: Client,
  namespace: string,
  ds: DemoDataset,
  referenceEnd: number,
  say: (line?: string) => void,
): Promise<void> {
  const built = await buildBaseline(client, {
    namespace,
    model: ds.model.name,
    version: ds.model.version,
    id: BASELINE_ID,
    from: new Date(ds.start),
    to: new Date(referenceEnd),
    replace: true,
  });
  say(
    `baseline "${BASELINE_ID}": ${built.profile.rowCount} reference predictions, ${Object.keys(built.profile.features).length} fields profiled (${BASELINES_INDEX}); ${describeCalibration(built.multiclassCalibration ?? built.calibration)}`,
  );
}

/** What the replay and the scheduler passes did, in two lines, and a warning when windows failed. */
function describePasses(
  ds: DemoDataset,
  replayed: {
    rows: number;
    windows: number;
    referenceEnd: number;
    lastEnd: number;
    analysisSeconds: number;
    counters: unknown;
  },
  { totals, timing, schedulerLog }: SchedulerPasses,
  say: (line?: string) => void,
  io: CommandIO,
): void {
  const { rows, windows, referenceEnd, lastEnd, analysisSeconds, counters } = replayed;
  say(
    `replayed ${rows} predictions and their labels a day late over ${windows} ${ds.window.name} windows ` +
      `(${isoSeconds(referenceEnd).slice(0, 10)} to ${isoSeconds(lastEnd).slice(0, 10)}) in ${analysisSeconds.toFixed(1)} s: ` +
      `${totals.passes} scheduler passes, ${totals.processed} window runs (${JOBS.join(', ')}; drift writes quality too), ` +
      `${totals.reprocessed} re-runs for late labels, ${totals.failed} failed`,
  );
  say(
    `  of which logging and indexing ${(timing.loggingMs / 1000).toFixed(1)} s, scheduler passes ${(timing.schedulerMs / 1000).toFixed(1)} s; logger: ${JSON.stringify(counters)}`,
  );
  if (totals.failed > 0) {
    const errors = parseLogLines(schedulerLog.join('')).filter((r) => r['log.level'] === 'error');
    io.stderr.write(
      `warning: ${totals.failed} window runs failed; first: ${String(errors[0]?.message ?? '')} ${JSON.stringify(errors[0]?.['error.message'] ?? '')}\n`,
    );
  }
}

/** The report of the whole monitored period, as `mlmon report --out` writes it. */
async function writeDemoReport(
  client: Client,
  ds: DemoDataset,
  namespace: string,
  period: { start: Date; end: Date },
  bounds: ModelConfig['performance']['bounds'],
  reportPath: string,
) {
  const { report, charts } = await buildReport(client, {
    namespace,
    models: [ds.model.name],
    period,
    title: `mlmon demo: ${ds.title}`,
    bounds: { [ds.model.name]: bounds },
  });
  writeFileSync(reportPath, reportHtmlFile(report, charts));
  const modelReport = report.models[0];
  if (!modelReport) throw new Error('the report has no model section');
  return { report, charts, modelReport };
}

/** The summary in words, the report's verdict and where the report is; returns the summary's lines. */
function describeReport(
  ds: DemoDataset,
  referenceEnd: number,
  summary: ReturnType<typeof summarizeDemo>,
  { charts, modelReport }: Awaited<ReturnType<typeof writeDemoReport>>,
  reportPath: string,
  say: (line?: string) => void,
): string[] {
  const summaryText = renderSummary(summary, {
    windowName: ds.window.name,
    referenceLabel: `the reference ${isoSeconds(ds.start).slice(0, 10)} to ${isoSeconds(referenceEnd).slice(0, 10)}`,
  });
  say('');
  for (const line of summaryText) say(line);
  say('');
  say(`verdict of the report: ${modelReport.verdict.status}: ${modelReport.verdict.sentence}`);
  say(`report: ${reportPath} (${charts.length} charts)`);
  return summaryText;
}

/** The data set read and the logistic regression fitted on its reference rows, in one line. */
function fitDemoModel(
  ds: DemoDataset,
  dataPath: string,
  wantedRows: number | undefined,
  minimumRows: number,
  say: (line?: string) => void,
) {
  const data = withFeatureNames(readLabelledCsv(dataPath), ds);
  const rows = Math.min(wantedRows ?? data.rows.length, data.rows.length);
  if (rows < minimumRows)
    throw new Error(`${dataPath} has ${rows} rows: the demo needs at least ${minimumRows}`);
  const reference = {
    rows: data.rows.slice(0, ds.referenceRows),
    labels: data.labels.slice(0, ds.referenceRows),
  };
  const model = fitLogistic(reference.rows, reference.labels, data.features);
  const trainCorrect = reference.rows.filter(
    (row, i) => (predictProbability(model, row) >= 0.5 ? 1 : 0) === reference.labels[i],
  ).length;
  const referenceEnd = rowTime(ds, ds.referenceRows);
  say(
    `model: logistic regression on ${data.features.join(', ')}, fitted on the first ${ds.referenceRows} rows ` +
      `(${isoSeconds(ds.start).slice(0, 10)} to ${isoSeconds(referenceEnd).slice(0, 10)}; training accuracy ${(trainCorrect / ds.referenceRows).toFixed(3)})`,
  );
  return { data, rows, model };
}

/** Documents of the demo's model per stream, after a refresh. */
async function countStreams(
  client: Client,
  namespace: string,
  model: string,
): Promise<Record<string, number>> {
  // What the logger flushed at close() may not be searchable yet: the counts below must see it.
  await refreshInputs(client, namespace);
  const streams: Record<string, number> = {};
  for (const stream of [
    logStream('prediction', namespace),
    logStream('outcome', namespace),
    logStream('deadletter', namespace),
    ...(['drift', 'quality', 'performance', 'service'] as const).map((k) => resultStream(k, namespace)),
  ]) {
    const count = await client.count(
      { index: stream, query: { term: { 'model.name': model } } },
      { ignore: [404] },
    );
    streams[stream] = count.count ?? 0;
  }
  return streams;
}
