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
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';
import { buildBaseline, describeCalibration } from '../../analyzer/baseline.js';
import { joinCheckpointId } from '../../analyzer/join.js';
import { refreshInputs } from '../../analyzer/refresh.js';
import { checkConnection, createClient } from '../../elastic/client.js';
import { ensureElasticsearch } from '../../elastic/local-cluster.js';
import { describeSetup, installTemplates } from '../../elastic/templates.js';
import { dashboardUrl, type DashboardKey } from '../../kibana/dashboards.js';
import { installKibana, safeUrl } from '../../kibana/install.js';
import { buildMessage, buildReport, redactSmtp, reportHtmlFile, sendMessage } from '../../report/index.js';
import { validateConfig, type ModelConfig } from '../../schema/config.js';
import { BASELINES_INDEX, logStream, resultStream, STATE_INDEX } from '../../schema/streams.js';
import { defaultJobRegistry } from '../../scheduler/index.js';
import { createJsonLogger, parseLogLines } from '../../scheduler/log.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import { checkpointId, labelCursorId, windowStateId } from '../../scheduler/state.js';
import { readLabelledCsv } from '../demo/dataset.js';
import {
  DEMO_DATASET_IDS,
  demoDataset,
  rowTime,
  withFeatureNames,
  type DemoDataset,
} from '../demo/datasets.js';
import { fitLogistic, predictProbability } from '../demo/logistic.js';
import { startProgress } from '../demo/progress.js';
import { Replay } from '../demo/replay.js';
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
import { defaultKibanaInstallOptions } from './kibana.js';

/** How long the demo waits for what was logged to be indexed before a scheduler pass. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const BASELINE_ID = 'training';
/**
 * The scheduler's jobs for the demo's model. `quality` is left out because `drift` writes the
 * quality results from the same aggregation request (scheduler/jobs/analysis.ts): listing it would
 * only add a lock, a completion and a checkpoint per window.
 */
const JOBS = ['drift', 'performance', 'service'] as const;
const DASHBOARDS: DashboardKey[] = ['overview', 'drift', 'performance', 'quality', 'service'];

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
  notes: `Environment: ES_URL (else a local Elasticsearch is fetched and started, and left running),
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
  const dataPath = values.data ?? defaultDataPath(ds.file);
  if (!existsSync(dataPath)) throw new UsageError(`data set not found: ${dataPath} (use --data)`);
  const reportPath = resolve(values.report ?? `mlmon-demo-${ds.id}.html`);
  const namespace = values.namespace;

  // 1. Elasticsearch: ES_URL, or one left by es:start, or a new local one left running afterwards.
  const cluster = await ensureElasticsearch({ persist: true });
  const client = createClient({ node: cluster.url });
  try {
    const server = await checkConnection(client);
    say(
      `Elasticsearch ${server.version} at ${cluster.url}${cluster.started ? ' (started for the demo; npm run es:stop stops it)' : ''}`,
    );
    const setup = await installTemplates(client);
    say(
      `index templates: ${setup.changed ? describeSetup(setup).filter((l) => !l.includes('unchanged')).length + ' changes' : 'up to date'}`,
    );

    // 2. The model in production, fitted on the reference period.
    const data = withFeatureNames(readLabelledCsv(dataPath), ds);
    const rows = Math.min(values.rows ?? data.rows.length, data.rows.length);
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
    // `mlmon baseline`'s own path: both streams refreshed, the reference labels joined, the
    // reference profiled, and the scores calibrated on those labels (stored with the baseline).
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
      `baseline "${BASELINE_ID}": ${built.profile.rowCount} reference predictions, ${Object.keys(built.profile.features).length} fields profiled (${BASELINES_INDEX}); ${describeCalibration(built.calibration)}`,
    );

    // 5. The scheduler every few windows, as `mlmon schedule` would run it after a pause.
    const modelConfig = demoModelConfig(ds, namespace, referenceEnd);
    const schedulerLog: string[] = [];
    const scheduler = new Scheduler({
      config: modelConfig.config,
      client,
      registry: defaultJobRegistry(),
      log: createJsonLogger(
        { write: (chunk: string) => (schedulerLog.push(chunk), true) } as unknown as NodeJS.WritableStream,
        { level: 'warn', fields: { owner: 'mlmon-demo' } },
      ),
    });
    const windows = (lastEnd - referenceEnd) / ds.window.ms;
    const totals = { passes: 0, processed: 0, reprocessed: 0, failed: 0 };
    const timing = { loggingMs: 0, schedulerMs: 0 };
    const pass = async (now: number) => {
      const started = Date.now();
      await replay.advanceTo(now);
      await settle(replay, io);
      const logged = Date.now();
      const summary = await scheduler.runModelPass(modelConfig.model, now);
      timing.loggingMs += logged - started;
      timing.schedulerMs += Date.now() - logged;
      totals.passes++;
      totals.processed += summary.processed;
      totals.reprocessed += summary.reprocessed;
      totals.failed += summary.failed;
    };
    const t0 = Date.now();
    const progress = startProgress(`${ds.window.name} windows`, windows, { stream: io.stderr });
    for (let k = Math.min(ds.passEveryWindows, windows); k >= 1 && k <= windows;) {
      const now = referenceEnd + k * ds.window.ms;
      await pass(now);
      progress.update(k, `to ${isoSeconds(now).slice(0, 10)}`);
      // The last pass falls on the last whole window even when the step overshoots it.
      k = k === windows ? windows + 1 : Math.min(k + ds.passEveryWindows, windows);
    }
    // The last window's last labels arrive a day after it ends: one more pass takes them in (before
    // the next window is due; the rows after the last whole window are logged but not analyzed).
    await pass(lastEnd + labelDelayMs + ds.stepMs);
    await replay.advanceTo(dataEnd + labelDelayMs + ds.stepMs);
    progress.stop(
      `${totals.passes} scheduler passes: ${totals.processed} window runs, ${totals.reprocessed} re-runs for late labels, ${totals.failed} failed`,
    );
    const counters = await replay.close();
    const analysisSeconds = (Date.now() - t0) / 1000;
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

    // 6. The report of the whole monitored period, as `mlmon report --out` writes it.
    const period = { start: new Date(referenceEnd), end: new Date(lastEnd) };
    const { report, charts } = await buildReport(client, {
      namespace,
      models: [ds.model.name],
      period,
      title: `mlmon demo: ${ds.title}`,
      bounds: { [ds.model.name]: modelConfig.model.performance.bounds },
    });
    writeFileSync(reportPath, reportHtmlFile(report, charts));
    const modelReport = report.models[0];
    if (!modelReport) throw new Error('the report has no model section');
    const summary = summarizeDemo(modelReport.data, ds.window.ms);

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
        { index: stream, query: { term: { 'model.name': ds.model.name } } },
        { ignore: [404] },
      );
      streams[stream] = count.count ?? 0;
    }

    const summaryText = renderSummary(summary, {
      windowName: ds.window.name,
      referenceLabel: `the reference ${isoSeconds(ds.start).slice(0, 10)} to ${isoSeconds(referenceEnd).slice(0, 10)}`,
    });
    say('');
    for (const line of summaryText) say(line);
    say('');
    say(`verdict of the report: ${modelReport.verdict.status}: ${modelReport.verdict.sentence}`);
    say(`report: ${reportPath} (${charts.length} charts)`);

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

async function settle(replay: Replay, io: CommandIO): Promise<void> {
  // Wait until everything logged is indexed: the pass that follows must see it.
  if (!(await replay.settle(DRAIN_TIMEOUT_MS)))
    io.stderr.write(
      `warning: not everything logged was indexed within ${DRAIN_TIMEOUT_MS / 1000} s; the analysis covers what was\n`,
    );
}

/** The model as a configuration file would describe it, for the scheduler. */
function demoModelConfig(
  ds: DemoDataset,
  namespace: string,
  referenceEnd: number,
): { config: ReturnType<typeof validateConfig>; model: ModelConfig } {
  const config = validateConfig(
    {
      namespace,
      scheduler: { owner: 'mlmon-demo', logLevel: 'warn' },
      models: [
        {
          name: ds.model.name,
          versions: [ds.model.version],
          window: ds.window.size,
          delay: '0s',
          start: new Date(referenceEnd).toISOString(),
          baseline: BASELINE_ID,
          jobs: [...JOBS],
          performance: { positiveClass: '1', threshold: 0.5 },
        },
      ],
    },
    { env: {}, source: 'mlmon demo' },
  );
  return { config, model: config.models[0] as ModelConfig };
}

/**
 * Removes what an earlier demo run left in the namespace: its data streams' documents and the
 * scheduler and join state of the demo's model. This Elasticsearch may have neither data stream APIs
 * nor delete-by-query, so each stream is rolled over to a new, empty write index and its earlier
 * backing indices are deleted; the state documents are deleted by id (the windows are known).
 * Refused when the namespace holds another model's predictions: those are not the demo's to delete.
 */
async function removeEarlierRun(
  client: Client,
  namespace: string,
  ds: DemoDataset,
  from: number,
  to: number,
): Promise<number> {
  const predictions = logStream('prediction', namespace);
  const count = (query: Record<string, unknown>) =>
    client
      .count({ index: predictions, query, ignore_unavailable: true, allow_no_indices: true })
      .then((r) => r.count);
  if ((await count({ match_all: {} })) === 0) return 0;
  if ((await count({ bool: { must_not: [{ term: { 'model.name': ds.model.name } }] } })) > 0)
    throw new Error(
      `namespace ${namespace} holds predictions of other models than ${ds.model.name}: give the demo a namespace of its own (--namespace)`,
    );
  const resolved = await client.indices.resolveIndex({
    name: `logs-mlmon.*-${namespace},metrics-mlmon.*-${namespace}`,
    expand_wildcards: 'all',
  });
  let removed = 0;
  for (const stream of resolved.data_streams) {
    removed += (await client.count({ index: stream.name })).count;
    await client.indices.rollover({ alias: stream.name });
    await client.indices.delete({ index: (stream.backing_indices as string[]).join(',') });
  }
  const ids = [joinCheckpointId(namespace, ds.model.name)];
  for (const job of JOBS) {
    const target = { job, model: { name: ds.model.name, version: ds.model.version }, namespace };
    ids.push(checkpointId(target), labelCursorId(target));
    for (let t = from; t < to; t += ds.window.ms) ids.push(windowStateId(target, new Date(t)));
  }
  await client.bulk({
    refresh: true,
    operations: ids.map((id) => ({ delete: { _index: STATE_INDEX, _id: id } })),
  });
  return removed;
}

interface OptionalStep<T> {
  lines: string[];
  result: T | null;
}

/** What the demo's Kibana step reports (`kibana` in `--format json`). */
export interface DemoKibanaResult {
  url: string;
  dashboards: string[];
  rules: string[];
  created: number;
  updated: number;
  unchanged: number;
}

/** With KIBANA_URL: `mlmon kibana install`'s installer, and links to the dashboards over the demo's period. */
async function installDashboards(
  ds: DemoDataset,
  namespace: string,
  period: { start: Date; end: Date },
  io: CommandIO,
): Promise<OptionalStep<DemoKibanaResult>> {
  const base = process.env.KIBANA_URL;
  if (!base)
    return {
      lines: ['Kibana: set KIBANA_URL (and KIBANA_API_KEY) to install the dashboards and alert rules too.'],
      result: null,
    };
  try {
    const install = defaultKibanaInstallOptions(process.env);
    const installed = await installKibana(install);
    const space =
      install.space && install.space !== 'default' ? `/s/${encodeURIComponent(install.space)}` : '';
    const shown = `${safeUrl(base).replace(/\/$/, '')}${space}`;
    // The data lies in the past: the links carry the demo's period as Kibana's time range.
    const time = `_g=(time:(from:'${period.start.toISOString()}',to:'${period.end.toISOString()}'))`;
    const dashboards = DASHBOARDS.map((key) => `${dashboardUrl(shown, key, ds.model.name)}&${time}`);
    const ruleItems = installed.items.filter((i) => i.kind === 'rule');
    const rules = ruleItems.map(
      (i) => `${shown}/app/management/insightsAndAlerting/triggersActions/rule/${encodeURIComponent(i.id)}`,
    );
    const c = installed.counts;
    return {
      lines: [
        `Kibana ${installed.kibana}: dashboards and alert rules installed (${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged; namespace ${namespace}):`,
        ...DASHBOARDS.map((key, i) => `  dashboard ${key.padEnd(12)} ${dashboards[i]}`),
        ...rules.map(
          (url, i) =>
            `  rule ${(installed.items.filter((x) => x.kind === 'rule')[i]?.title ?? '').padEnd(16)} ${url}`,
        ),
      ],
      result: {
        url: safeUrl(base),
        dashboards,
        rules,
        created: c.created,
        updated: c.updated,
        unchanged: c.unchanged,
      },
    };
  } catch (error) {
    io.stderr.write(`warning: Kibana: ${error instanceof Error ? error.message : String(error)}\n`);
    return { lines: ['Kibana: installing the dashboards failed (see the warning above).'], result: null };
  }
}

/** With SMTP_URL: the report by e-mail, as `mlmon report --to` sends it. */
async function mailReport(
  report: Awaited<ReturnType<typeof buildReport>>['report'],
  charts: Awaited<ReturnType<typeof buildReport>>['charts'],
  to: string | undefined,
  io: CommandIO,
): Promise<OptionalStep<{ to: string[]; accepted: string[]; messageId: string }>> {
  const smtpUrl = process.env.SMTP_URL;
  if (!smtpUrl)
    return {
      lines: [
        'E-mail: set SMTP_URL (smtp://user:pass@host:587) to have the report mailed too (--mail-to ADDR).',
      ],
      result: null,
    };
  const recipients = (to ?? process.env.ALERT_EMAIL_TO ?? 'demo@localhost')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    const message = buildMessage(report, charts, {
      from: process.env.SMTP_FROM || 'mlmon@localhost',
      to: recipients,
      subjectPrefix: '[mlmon demo]',
    });
    const sent = await sendMessage(message, { smtpUrl });
    return {
      lines: [`E-mail: report sent to ${sent.accepted.join(', ')}`],
      result: { to: recipients, accepted: sent.accepted, messageId: sent.messageId },
    };
  } catch (error) {
    io.stderr.write(
      `warning: e-mail: ${redactSmtp(error instanceof Error ? error.message : String(error), smtpUrl)}\n`,
    );
    return { lines: ['E-mail: sending the report failed (see the warning above).'], result: null };
  }
}
