import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTime, WindowError } from '../../analyzer/windows.js';
import { checkConnection, createClient } from '../../elastic/client.js';
import { buildMessage, buildReport, redactSmtp, reportHtmlFile, sendMessage } from '../../report/index.js';
import type { MetricBound } from '../../report/types.js';
import { CONFIG_FILE_NAMES, ConfigError, loadConfig, type MlmonConfig } from '../../schema/config.js';
import { parseDuration } from '../../schema/duration.js';
import { DEFAULT_NAMESPACE } from '../../schema/streams.js';
import { exitCodesHelp } from '../command.js';
import { type CommandIO, UsageError, writeJson } from '../io.js';

const HELP = `Usage: mlmon report --model M [--model M2 ...] (--last 24h | --from T --to T)
                    [--namespace N] [--out report.html] [--to addr ...] [--subject-prefix P]
                    [--mail-from addr] [--config path] [--top N] [--format text|json]

Builds the report of one or more models for a period from the result documents the analyzer wrote
(drift, quality, performance, service): a verdict, drift by feature with reference-versus-current
distributions of the top features, performance over time with label coverage, data quality,
service health, and what changed since the previous period of the same length.

  --model M          model name as logged (repeat for several models)
  --last D           the period that ends now: 24h, 7d, ...
  --from T, --to T   the period [from, to): ISO 8601, now, now-1d
  --namespace N      data stream namespace (default: the config's, else ${DEFAULT_NAMESPACE})
  --out FILE         write one self-contained HTML file (charts embedded; opens offline)
  --to ADDR          e-mail the report to ADDR (repeat, or comma-separated); default: smtp.to
  --subject-prefix P put P before the subject, e.g. "[mlmon prod]"
  --mail-from ADDR   sender (default: smtp.from, else mlmon@localhost)
  --config PATH      configuration file (default: mlmon.config.json/.yaml here, when present):
                     smtp.url/from/to, elasticsearch.*, and models[].performance.bounds
  --top N            reference-vs-current distributions for the N top drifted features (default 3)
  --format json      print the report data as JSON

E-mail is sent when an SMTP URL is configured (SMTP_URL, or smtp.url in the config) and there are
recipients. The SMTP URL may hold a password: it never appears in output or errors.
`;

export interface ReportArguments {
  models: string[];
  namespace?: string;
  period: { start: Date; end: Date };
  out?: string;
  to: string[];
  subjectPrefix?: string;
  mailFrom?: string;
  config?: string;
  top?: number;
  format: 'text' | 'json';
  help: boolean;
}

/** Parses and checks the command line; self-contained so that it can move to a shared command layer. */
export function parseReportArguments(argv: string[], now: Date = new Date()): ReportArguments {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', multiple: true },
      namespace: { type: 'string' },
      last: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string', multiple: true },
      out: { type: 'string' },
      'subject-prefix': { type: 'string' },
      'mail-from': { type: 'string' },
      config: { type: 'string', short: 'c' },
      top: { type: 'string' },
      format: { type: 'string', default: 'text' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const empty = { models: [], period: { start: now, end: now }, to: [], format: 'text' as const };
  if (values.help) return { ...empty, help: true };
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError('--format must be text or json');
  const models = (values.model ?? []).map((m) => m.trim()).filter(Boolean);
  if (models.length === 0) throw new UsageError('--model is required (repeat it for several models)');
  // `--to` is both the period's end (a time) and a recipient (an address): an @ decides.
  const toValues = values.to ?? [];
  const recipients = toValues
    .filter((v) => v.includes('@'))
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const periodTo = toValues.filter((v) => !v.includes('@'));
  if (periodTo.length > 1) throw new UsageError('--to as the end of the period is given twice');
  let period: { start: Date; end: Date };
  try {
    if (values.last !== undefined) {
      if (values.from !== undefined || periodTo.length > 0)
        throw new UsageError('give --last, or --from and --to, not both');
      const ms = parseDuration(values.last);
      if (ms === undefined) throw new UsageError(`--last: "${values.last}" is not a duration (24h, 7d, ...)`);
      period = { start: new Date(now.getTime() - ms), end: now };
    } else {
      if (values.from === undefined || periodTo.length === 0)
        throw new UsageError('give the period: --last 24h, or --from T --to T');
      period = { start: parseTime(values.from, now), end: parseTime(periodTo[0] as string, now) };
    }
  } catch (error) {
    if (error instanceof WindowError) throw new UsageError(error.message);
    throw error;
  }
  if (!(period.end > period.start)) throw new UsageError('the period must end after it starts');
  const top = values.top !== undefined ? Number(values.top) : undefined;
  if (top !== undefined && !(Number.isInteger(top) && top >= 0))
    throw new UsageError('--top must be an integer ≥ 0');
  return {
    models,
    namespace: values.namespace,
    period,
    out: values.out,
    to: recipients,
    subjectPrefix: values['subject-prefix'],
    mailFrom: values['mail-from'],
    config: values.config,
    top,
    format: values.format,
    help: false,
  };
}

function configFor(path: string | undefined): MlmonConfig | undefined {
  const present = path !== undefined || CONFIG_FILE_NAMES.some((n) => existsSync(resolve(n)));
  if (!present) return undefined;
  try {
    return loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

export async function reportCommand(argv: string[], io: CommandIO): Promise<number> {
  const args = parseReportArguments(argv);
  if (args.help) {
    io.stdout.write(`${HELP}\n${exitCodesHelp()}`);
    return 0;
  }
  const config = configFor(args.config);
  const smtpUrl = process.env.SMTP_URL || config?.smtp.url;
  const recipients = args.to.length > 0 ? args.to : (config?.smtp.to ?? []);
  const mail = smtpUrl !== undefined && recipients.length > 0;
  if (args.to.length > 0 && !smtpUrl)
    throw new UsageError('--to needs an SMTP server: set SMTP_URL (smtp://user:pass@host:587) or smtp.url');
  if (!args.out && !mail && args.format !== 'json')
    throw new UsageError(
      'nothing to do: give --out file.html, --to recipients (with SMTP_URL), or --format json',
    );
  const namespace = args.namespace ?? config?.namespace ?? DEFAULT_NAMESPACE;
  const bounds: Record<string, Record<string, MetricBound>> = {};
  for (const m of config?.models ?? [])
    if (m.namespace === namespace && args.models.includes(m.name)) bounds[m.name] = m.performance.bounds;

  const es = config?.elasticsearch;
  const client = createClient({
    node: es?.url,
    apiKey: es?.apiKey,
    username: es?.username,
    password: es?.password,
    caCert: es?.caCert,
    requestTimeout: es?.requestTimeoutMs,
  });
  try {
    await checkConnection(client);
    const { report, charts } = await buildReport(client, {
      namespace,
      models: args.models,
      period: args.period,
      bounds,
      topFeatures: args.top,
    });
    if (args.out) {
      writeFileSync(args.out, reportHtmlFile(report, charts));
      if (args.format !== 'json') io.stdout.write(`wrote ${args.out} (${charts.length} charts)\n`);
    }
    let sent: { messageId: string; attempts: number; accepted: string[] } | undefined;
    if (mail) {
      const message = buildMessage(report, charts, {
        from: args.mailFrom ?? config?.smtp.from ?? 'mlmon@localhost',
        to: recipients,
        subjectPrefix: args.subjectPrefix,
      });
      sent = await sendMessage(message, {
        smtpUrl: smtpUrl as string,
        onFailedAttempt: (f) =>
          io.stderr.write(
            `mlmon report: sending failed (attempt ${f.attempt}, ${f.retriesLeft} left): ${f.message}\n`,
          ),
      });
      if (args.format !== 'json')
        io.stdout.write(`sent to ${sent.accepted.join(', ')} (${sent.attempts} attempt(s))\n`);
    }
    if (args.format === 'json')
      writeJson(io, { ...report, charts: charts.map(({ png: _png, ...c }) => c), sent });
    else for (const m of report.models) io.stdout.write(`${m.verdict.status}: ${m.verdict.sentence}\n`);
    return 0;
  } catch (error) {
    // Whatever failed, the SMTP URL's credentials stay out of the message.
    if (error instanceof Error) error.message = redactSmtp(error.message, smtpUrl);
    throw error;
  } finally {
    await client.close();
  }
}
