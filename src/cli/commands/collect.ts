import { ConfigError, loadConfig, validateConfig, type MlmonConfig } from '../../schema/config.js';
import { startCollector } from '../../collector/server.js';
import { checkCredentials, createClient } from '../../elastic/client.js';
import { defineCommand, EXIT, namespaceValue, nonNegativeInteger, UsageError } from '../command.js';

function port(text: string): number {
  const n = nonNegativeInteger(text);
  if (n > 65535) throw new UsageError(`must be a port number 0-65535, not "${text}"`);
  return n;
}

/** The configuration file when there is one; without one (and no --config), the environment alone. */
function configFor(path: string | undefined): MlmonConfig {
  try {
    return loadConfig(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (path === undefined && error.problems.every((p) => p.message.startsWith('no configuration file')))
      try {
        return validateConfig({});
      } catch (inner) {
        if (inner instanceof ConfigError) throw new UsageError(inner.message);
        throw inner;
      }
    throw new UsageError(error.message);
  }
}

export const collectCommand = defineCommand({
  name: 'collect',
  summary: 'HTTP ingest service: predictions and outcomes, KServe and Seldon inference loggers',
  usage: ['[--config path] [--port N] [--host H] [--namespace N]'],
  description: `Receives predictions over HTTP and writes them through mlmon's logger core (the one behind the
winston transport): each prediction stored once (_id = prediction id), retries, a disk spool across
restarts and Elasticsearch outages, dead letters. A 2xx answer means durable: indexed, or fsynced
in the spool.

  POST /v1/predictions, /v1/outcomes   JSON (object or array) or NDJSON in mlmon's event shape
  POST /v1/events (or /)               KServe / Seldon inference-logger CloudEvents
  GET  /healthz, /readyz, /metrics     liveness, readiness, Prometheus metrics

SIGTERM or SIGINT stop it: it stops accepting, answers the requests in flight, flushes, and prints
what was delivered and what was spooled. See docs/collect.md.`,
  options: {
    config: {
      type: 'string',
      short: 'c',
      value: 'path',
      description: 'configuration file (default: mlmon.config.json, .yaml or .yml here, else none)',
    },
    port: {
      type: 'string',
      value: 'N',
      description: 'port to listen on (default collector.port, 8787)',
      parse: port,
    },
    host: {
      type: 'string',
      value: 'H',
      description: 'address to listen on (default collector.host, 127.0.0.1)',
    },
    namespace: {
      type: 'string',
      value: 'N',
      description:
        "data stream namespace (default: MLMON_NAMESPACE, else the file's namespace, else default)",
      parse: namespaceValue,
    },
  },
  notes: `Environment variables override the file: ES_URL, ES_API_KEY, ES_USERNAME, ES_PASSWORD,
ES_CA_CERT, MLMON_NAMESPACE, MLMON_COLLECT_TOKEN (one accepted bearer token / API key).`,
  run: async (values, io) => {
    const config = configFor(values.config);
    const c = config.collector;
    const es = config.elasticsearch;
    await checkAtStart(es);
    const namespace = values.namespace ?? config.namespace;
    const collector = await startCollector({
      ...c,
      host: values.host ?? c.host,
      port: values.port ?? c.port,
      logger: {
        node: es.url,
        apiKey: es.apiKey,
        username: es.username,
        password: es.password,
        caCert: es.caCert,
        namespace,
        spool: {
          ...(c.spoolDir ? { dir: c.spoolDir } : {}),
          ...(c.spoolMaxBytes ? { maxBytes: c.spoolMaxBytes } : {}),
        },
        onWarning: (m) => io.stderr.write(`${m}\n`),
      },
    });
    io.stdout.write(
      `mlmon collect: listening on ${collector.url} (namespace ${namespace}${c.tokens.length > 0 ? ', auth on' : ''})\n`,
    );
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    const summary = await collector.close();
    const k = summary.counters;
    io.stdout.write(
      `mlmon collect: stopped on ${signal}; delivered ${k.indexed} (dead-lettered ${k.deadLettered}, dropped ${k.dropped}), ` +
        `spooled ${k.spooled} (${summary.spoolBytes} bytes left in ${summary.spoolDir ?? 'no spool'}), ` +
        `unpaired halves wait in ${summary.pairs.index} for any replica\n`,
    );
    return EXIT.ok;
  },
});

/**
 * Connection settings and credentials, checked before listening (src/elastic/client.ts): a CA file
 * that is not there exits 2 like everywhere else, rejected credentials exit 1 with a line naming
 * them. An unreachable cluster is not refused: the spool rides out the outage.
 */
async function checkAtStart(es: MlmonConfig['elasticsearch']): Promise<void> {
  if (!es.url) return;
  const settings = { node: es.url, apiKey: es.apiKey, username: es.username, password: es.password };
  const client = createClient({ ...settings, caCert: es.caCert, maxRetries: 0, requestTimeout: 10_000 });
  try {
    await checkCredentials(client, settings);
  } finally {
    await client.close();
  }
}
