import type { Client } from '@elastic/elasticsearch';
import { checkConnection, createClient } from '../../elastic/client.js';
import { STATE_INDEX } from '../../schema/streams.js';
import { ConfigError, loadConfig, type MlmonConfig } from '../../schema/config.js';
import { defaultJobRegistry } from '../../scheduler/index.js';
import type { JobRegistry } from '../../scheduler/jobs/registry.js';
import { createJsonLogger } from '../../scheduler/log.js';
import { SchedulerMetrics, seedLatestResults } from '../../scheduler/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../scheduler/metrics-server.js';
import { Scheduler, unknownJobs, type PassSummary } from '../../scheduler/scheduler.js';
import { gatherModelPeriod, verdictOf } from '../../report/index.js';
import type { StructuredLogger } from '../../scheduler/log.js';
import { type Command, defineCommand, EXIT, UsageError } from '../command.js';
import type { CommandIO } from '../io.js';

function clientFor(config: MlmonConfig): Client {
  const es = config.elasticsearch;
  return createClient({
    node: es.url,
    apiKey: es.apiKey,
    username: es.username,
    password: es.password,
    caCert: es.caCert,
    requestTimeout: es.requestTimeoutMs,
  });
}

/** Resolves on the first SIGTERM or SIGINT; `dispose` removes the listeners. */
function onTerminationSignal(): { signal: Promise<NodeJS.Signals>; dispose: () => void } {
  let handler: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    handler = (s) => resolve(s);
  });
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  return {
    signal,
    dispose: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

/** The command, over a given job registry (the CLI's default one, or a test's). */
export function createScheduleCommand(makeRegistry: () => JobRegistry = defaultJobRegistry): Command {
  return defineCommand({
    name: 'schedule',
    summary: 'run the scheduler (analysis jobs on cron expressions, locks and checkpoints in Elasticsearch)',
    usage: ['[--config path] [--once | --backfill]'],
    description: `Runs the analysis jobs of every model in the configuration file on their cron schedule, one
window at a time, oldest first. Checkpoints and locks live in the mlmon-state index, so the
scheduler resumes where it stopped (catching up at most scheduler.maxCatchUp windows), and several
replicas can run at once without ever analyzing a window twice. SIGTERM or SIGINT stop it
gracefully: the window in progress finishes (or is released after scheduler.shutdownGrace).

Windows further back than scheduler.maxCatchUp (a model's start long ago, or a long downtime) are
skipped with a warning naming the range; --backfill analyzes them.

Logs are JSON lines on stdout (event.action: window.started, window.processed, window.held,
windows.skipped, lock.takeover, hook.called, ...). With scheduler.metrics.port set, Prometheus
metrics are served at http://host:port/metrics.`,
    options: {
      config: {
        type: 'string',
        short: 'c',
        value: 'path',
        description: 'configuration file (default: mlmon.config.json, .yaml or .yml here)',
      },
      once: {
        type: 'boolean',
        description:
          'process the windows due now, wait for those other replicas hold, and exit\n(exit code 1 when a window failed)',
      },
      backfill: {
        type: 'boolean',
        description:
          "like --once, but every window from each model's start (or checkpoint), however many:\nno maxCatchUp bound; windows already done are not redone",
      },
    },
    notes: `Environment variables override the file: ES_URL, ES_API_KEY, ES_USERNAME, ES_PASSWORD,
ES_CA_CERT, KIBANA_URL, KIBANA_API_KEY, SMTP_URL, MLMON_NAMESPACE, MLMON_OWNER,
MLMON_METRICS_PORT, MLMON_LOG_LEVEL. See docs/configuration.md.`,
    exitCodes: { 1: 'with --once or --backfill: a window failed' },
    run: (values, io) => schedule(values, io, makeRegistry),
  });
}

async function schedule(
  values: { config: string | undefined; once: boolean; backfill: boolean },
  io: CommandIO,
  makeRegistry: () => JobRegistry,
): Promise<number> {
  // Help says either-or: both given, --backfill used to win silently (1,324 windows instead of 3).
  if (values.once && values.backfill)
    throw new UsageError('give --once or --backfill, not both (--backfill already exits when done)');
  let config: MlmonConfig;
  try {
    config = loadConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  if (config.models.length === 0 && config.reports.length === 0)
    throw new UsageError(`${config.source}: no models or reports configured`);
  const log = createJsonLogger(io.stdout, {
    level: config.scheduler.logLevel,
    fields: { owner: config.scheduler.owner },
  });
  const registry = makeRegistry();
  const unknown = unknownJobs(config, registry);
  if (unknown) throw new UsageError(`${config.source}: ${unknown}`);
  if (config.reports.length > 0 && !config.smtp.url)
    throw new UsageError(
      `${config.source}: reports are configured but no SMTP server: set SMTP_URL or smtp.url`,
    );

  const client = clientFor(config);
  const termination = onTerminationSignal();
  let metricsServer: MetricsServer | undefined;
  try {
    const server = await checkConnection(client);
    const template = await client.indices.existsIndexTemplate({ name: STATE_INDEX });
    if (!template)
      throw new Error(
        `the ${STATE_INDEX} index template is missing: run "mlmon setup" against this cluster first`,
      );
    const metrics = config.scheduler.metrics ? new SchedulerMetrics(config.scheduler.owner) : undefined;
    const scheduler = new Scheduler({ config, client, registry, log, metrics, backfill: values.backfill });
    log.info('scheduler.starting', `scheduler starting against Elasticsearch ${server.version}`, {
      config: config.source,
      models: config.models.map((m) => m.name),
      'lock.ttl_ms': config.scheduler.lockTtlMs,
      'lock.heartbeat_ms': config.scheduler.heartbeatMs,
      once: values.once,
      backfill: values.backfill,
    });
    if (metrics && config.scheduler.metrics) {
      const seeded = await seedLatestResults(client, metrics, config.models);
      metricsServer = await startMetricsServer(metrics, config.scheduler.metrics);
      log.info('metrics.listening', `Prometheus metrics at ${metricsServer.url}`, {
        port: metricsServer.port,
        seeded,
      });
    }
    const stopOnSignal = termination.signal.then((signal) => scheduler.shutdown(signal));
    if (values.once || values.backfill) {
      const summary = await scheduler.runDue();
      await scheduler.shutdown(values.backfill ? 'backfill' : 'once');
      log.info('schedule.once_finished', `processed ${summary.processed} windows, ${summary.failed} failed`, {
        processed: summary.processed,
        failed: summary.failed,
        held: summary.held,
      });
      await logFindings(client, config, summary, log);
      return summary.failed > 0 ? EXIT.failure : EXIT.ok;
    }
    scheduler.start();
    await stopOnSignal;
    return EXIT.ok;
  } finally {
    termination.dispose();
    await metricsServer?.close();
    await client.close();
  }
}

/**
 * What the windows just analyzed show, per model: the report's verdict over their span (what
 * drifted, what degraded, with the configured bounds), so `--once` ends with the findings and
 * says what `mlmon report` would over the same results.
 */
async function logFindings(
  client: Client,
  config: MlmonConfig,
  summary: PassSummary,
  log: StructuredLogger,
): Promise<void> {
  for (const model of config.models) {
    const runs = summary.runs.filter(
      (r) => r.model.name === model.name && r.namespace === model.namespace && r.outcome === 'processed',
    );
    if (runs.length === 0) continue;
    const start = new Date(Math.min(...runs.map((r) => r.window.start.getTime())));
    const end = new Date(Math.max(...runs.map((r) => r.window.end.getTime())));
    const data = await gatherModelPeriod(client, {
      namespace: model.namespace,
      model: model.name,
      period: { start, end },
      distributions: false,
      bounds: model.performance.bounds,
    });
    const verdict = verdictOf(data);
    log.info('schedule.findings', verdict.sentence, {
      model: model.name,
      namespace: model.namespace,
      'period.start': start.toISOString(),
      'period.end': end.toISOString(),
      status: verdict.status,
      reasons: verdict.reasons,
    });
  }
}

export const scheduleCommand: Command = createScheduleCommand();
